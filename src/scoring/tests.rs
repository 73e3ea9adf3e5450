//! The rule language's checks, one bad file per kind of mistake, and the golden files.

use chrono::NaiveDate;

use super::golden;
use super::load;

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()
}

const HEAD: &str = r#"id = "t"
title = "t"
source = "t"
effective_from = "2021-01-01"
effective_to = "2026-12-31"
hit_policy = "sum"

[parameters.min_staff]
article = "第五条"
description = "d"
values = [{ from = "2021-03-01", value = 2 }]
[parameters.change_filing_days]
article = "a"
description = "d"
values = [{ from = "2021-03-01", value = 10 }]
[parameters.board_lookback_years]
article = "a"
description = "d"
values = [{ from = "2021-03-01", value = 5 }]
[parameters.board_width_cm]
article = "a"
description = "d"
values = [{ from = "2021-03-01", value = 120 }]
[parameters.board_height_cm]
article = "a"
description = "d"
values = [{ from = "2021-03-01", value = 90 }]
[parameters.delegation_allowed]
article = "a"
description = "d"
values = [{ from = "2021-03-01", value = 0 }]
[parameters.suggest_unanswered_min_forwarded]
article = "a"
description = "d"
values = [{ from = "2021-03-01", value = 5 }]
[parameters.suggest_unanswered_max_answer_pct]
article = "a"
description = "d"
values = [{ from = "2021-03-01", value = 50 }]
[parameters.later]
article = "a"
description = "d"
values = [{ from = "2026-06-01", value = 1 }]
"#;

/// The problems of HEAD plus `rules`, as one string.
fn problems(rules: &str) -> String {
    match load(&format!("{HEAD}{rules}"), date()) {
        Ok(_) => String::new(),
        Err(p) => p
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn rule(id: &str, when: &str) -> String {
    format!("\n[[rules]]\nid = \"{id}\"\narticle = \"a\"\ndescription = \"d\"\npoints = 5\n[rules.when]\nall = [ {when} ]\n")
}

#[test]
fn a_good_file_loads() {
    let ok = rule(
        "staff",
        r#"{ metric = "full_time_staff", op = ">=", param = "min_staff" }"#,
    );
    assert_eq!(problems(&ok), "");
}

#[test]
fn each_mistake_is_named_with_its_line() {
    let cases = [
        (rule("x", r#"{ metric = "staf", op = ">=", param = "min_staff" }"#), "未知指标“staf”"),
        (rule("x", r#"{ metric = "full_time_staff", op = ">=", param = "max_staff" }"#), "未定义的参数“max_staff”"),
        (rule("x", r#"{ metric = "full_time_staff", op = ">=", param = "later" }"#), "在评价日 2025-12-31 没有取值"),
        (rule("x", r#"{ metric = "org_established", op = ">=", value = 1 }"#), "类型不符"),
        (rule("x", r#"{ metric = "org_established", op = "==", param = "min_staff" }"#), "不能与数值参数比较"),
        (rule("x", r#"{ metric = "answered_3d_pct", op = ">=", value = 90 }"#), "须写明 unknown"),
        (rule("x", r#"{ metric = "tickets", op = ">=" }"#), "param 或 value 之一"),
        (format!("{}{}", rule("x", r#"{ metric = "tickets", op = ">=", value = 1 }"#), rule("x", r#"{ metric = "tickets", op = ">=", value = 2 }"#)), "id “x” 重复"),
        (rule("x", r#"{ metric = "tickets", op = "=>", value = 1 }"#), "第"),
        ("\n[[rules]]\nid = \"y\"\narticle = \"a\"\ndescription = \"d\"\n[rules.when]\nall = [ { metric = \"tickets\", op = \">=\", value = 1 } ]\n".to_string(), "既无分值"),
        ("\n[[rules]]\nid = \"z\"\narticle = \"a\"\ndescription = \"d\"\nflag = \"no_3a\"\n[rules.when]\nall = [ { metric = \"tickets\", op = \">=\", value = 1 } ]\n".to_string(), "标记“no_3a”未定义"),
        (String::new(), "没有规则"),
    ];
    for (rules, expected) in cases {
        let got = problems(&rules);
        assert!(
            got.contains(expected),
            "expected “{expected}” in: {got}\nfor {rules}"
        );
    }
    // The line of the rule with the mistake.
    let got = problems(&rule(
        "bad_line",
        r#"{ metric = "staf", op = ">=", value = 1 }"#,
    ));
    let line = HEAD.lines().count() + 3;
    assert!(got.starts_with(&format!("第{line}行")), "{got}");
}

#[test]
fn date_ranges_are_checked() {
    let inverted = HEAD.replace(
        "effective_to = \"2026-12-31\"",
        "effective_to = \"2020-12-31\"",
    );
    let ok = rule("s", r#"{ metric = "tickets", op = ">=", value = 1 }"#);
    let got = load(&format!("{inverted}{ok}"), date()).err().unwrap();
    assert!(got[0].message.contains("有效期倒置"), "{got:?}");
    let overlap = HEAD.replace(
        "values = [{ from = \"2026-06-01\", value = 1 }]",
        "values = [{ from = \"2026-06-01\", value = 1 }, { from = \"2022-01-01\", value = 2 }]",
    );
    let got = load(&format!("{overlap}{ok}"), date()).err().unwrap();
    assert!(
        got.iter().any(|p| p.message.contains("重叠或倒置")),
        "{got:?}"
    );
}

#[test]
fn no_hit_policy_is_refused() {
    let text = HEAD.replace("hit_policy = \"sum\"\n", "");
    let got = load(
        &format!(
            "{text}{}",
            rule("s", r#"{ metric = "tickets", op = ">=", value = 1 }"#)
        ),
        date(),
    )
    .err()
    .unwrap();
    assert!(got[0].message.contains("hit_policy"));
}

/// Every golden file under `scoring-rules/tests/`.
#[test]
fn golden_files() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scoring-rules/tests"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let report = golden::run(&path.display().to_string(), &text, dir).unwrap();
            let failed: Vec<String> = report
                .cases
                .iter()
                .filter_map(|(name, f)| f.as_ref().map(|f| format!("{name}: {f}")))
                .collect();
            assert!(failed.is_empty(), "{}:\n{}", report.file, failed.join("\n"));
            n += report.cases.len();
        }
    }
    assert!(n >= 20, "only {n} golden cases");
}

#[test]
fn the_trace_explains_in_plain_chinese() {
    let text = crate::rules::RuleSet::shipped_text("jining-2021").unwrap();
    let loaded = load(text, date()).unwrap();
    let mut inputs = super::metrics::Inputs::new();
    inputs.insert(
        "revisited_7d_pct".into(),
        super::metrics::Value::Number(64.3),
    );
    let ev = super::engine::evaluate(&loaded.book, &loaded.params, date(), None, &inputs);
    let org = ev.items.iter().find(|i| i.rule == "org_complete").unwrap();
    let revisit = org
        .checks
        .iter()
        .find(|c| c.metric == "revisited_7d_pct")
        .unwrap();
    assert_eq!(revisit.explanation, "办结后7日内回访率 64.3%，低于 70.0%");
    let p = revisit.parameter.as_ref().unwrap();
    assert_eq!((p.article.as_str(), p.value), ("第十七条", 70));
    // A metric not supplied is unknown and says so.
    let staff = org
        .checks
        .iter()
        .find(|c| c.metric == "full_time_staff")
        .unwrap();
    assert!(
        staff.explanation.contains("无数据"),
        "{}",
        staff.explanation
    );
}

#[test]
fn a_checks_rule_set_combines_no_points() {
    let head = HEAD.replace("hit_policy = \"sum\"", "hit_policy = \"checks\"");
    let bad = format!(
        "{head}{}",
        rule("s", r#"{ metric = "tickets", op = ">=", value = 1 }"#)
    );
    let got = load(&bad, date()).err().unwrap();
    assert!(got[0].message.contains("checks"), "{got:?}");
    let good = format!(
        "{head}\n[[rules]]\nid = \"c\"\narticle = \"a\"\ndescription = \"d\"\n[rules.when]\nall = [ {{ metric = \"satisfaction_pct\", op = \">=\", value = 90, unknown = \"unknown\" }} ]\n"
    );
    let loaded = load(&good, date()).unwrap();
    let mut inputs = super::metrics::Inputs::new();
    inputs.insert(
        "satisfaction_pct".into(),
        super::metrics::Value::unknown("x"),
    );
    let ev = super::engine::evaluate(&loaded.book, &loaded.params, date(), None, &inputs);
    assert_eq!(ev.items[0].outcome, super::engine::Outcome::Unknown);
    assert_eq!(ev.total, 0);
    inputs.insert(
        "satisfaction_pct".into(),
        super::metrics::Value::Number(90.0),
    );
    let ev = super::engine::evaluate(&loaded.book, &loaded.params, date(), None, &inputs);
    assert_eq!(
        (ev.items[0].outcome, ev.total),
        (super::engine::Outcome::Pass, 1)
    );
}

#[test]
fn a_year_outside_the_validity_window_is_refused_unless_forced() {
    let text = crate::rules::RuleSet::shipped_text("jining-2021").unwrap();
    let d = |y| NaiveDate::from_ymd_opt(y, 12, 31).unwrap();
    let err = super::run::prepare(text, 2020, d(2020), false)
        .err()
        .unwrap();
    assert!(err.to_string().contains("有效期"), "{err}");
    let err = super::run::prepare(text, 2027, d(2027), false)
        .err()
        .unwrap();
    assert!(err.to_string().contains("--force"), "{err}");
    let forced = super::run::prepare(text, 2027, d(2027), true).unwrap();
    assert!(forced.outside_window);
    let inside = super::run::prepare(text, 2021, d(2021), false).unwrap();
    assert!(!inside.outside_window);
    assert_eq!(inside.publicity_days(d(2021)), 7);
}
