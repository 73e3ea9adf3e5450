//! Attribution: which enterprise a ticket is about. Tried in order: the credit code; the
//! exact enterprise name or alias; the exact project name or alias; a fuzzy project match
//! (the text contains a project's name, or shares enough of its name or address); otherwise
//! the ticket waits in the unmatched queue for an officer, whose choice becomes an alias.
//! Names are compared after folding full-width forms, spaces, brackets, punctuation and the
//! company-form suffixes callers drop (有限公司, 有限责任公司, 集团…).

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, MatchKind};

use super::{Attribution, FastMap};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::registry::CreditCode;

/// Dice similarity (on character bigrams) above which a fuzzy project match is accepted.
pub const FUZZY_THRESHOLD: f64 = 0.6;
/// How many of the best-overlapping projects are scored for a fuzzy match.
const MAX_SCORED: usize = 32;
/// Shortest project key that may be found inside a longer text.
const MIN_CONTAINED_CHARS: usize = 3;

fn strip_punctuation(s: &str) -> String {
    // One pass and one allocation: every ticket's texts go through here.
    let mut out = String::with_capacity(s.len());
    out.extend(
        s.chars()
            .map(crate::text::halfwidth_char)
            .filter(|c| {
                !c.is_whitespace()
                    && !matches!(
                        c,
                        '(' | ')'
                            | '（'
                            | '）'
                            | '【'
                            | '】'
                            | '['
                            | ']'
                            | '「'
                            | '」'
                            | '《'
                            | '》'
                            | '·'
                            | '•'
                            | '.'
                            | '-'
                            | '_'
                            | ','
                            | '，'
                            | '、'
                            | '"'
                            | '\''
                            | '“'
                            | '”'
                            | '‘'
                            | '’'
                            | ':'
                            | '：'
                            | '/'
                    )
            })
            .flat_map(char::to_lowercase),
    );
    out
}

/// The comparison key of an enterprise name.
pub fn enterprise_key(s: &str) -> String {
    let mut k = strip_punctuation(s);
    loop {
        let before = k.len();
        for suffix in [
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "集团公司",
            "集团",
            "公司",
        ] {
            if let Some(stripped) = k.strip_suffix(suffix) {
                k = stripped.to_string();
            }
        }
        if k.len() == before {
            break;
        }
    }
    k
}

/// The comparison key of a project or community name.
pub fn project_key(s: &str) -> String {
    let mut k = strip_punctuation(s);
    for suffix in ["小区", "社区", "项目"] {
        if let Some(stripped) = k.strip_suffix(suffix) {
            if stripped.chars().count() >= 2 {
                k = stripped.to_string();
            }
        }
    }
    k
}

fn bigrams(s: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

fn dice(a: &HashSet<(char, char)>, b: &HashSet<(char, char)>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    2.0 * a.intersection(b).count() as f64 / (a.len() + b.len()) as f64
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub enterprise_id: Option<i64>,
    pub project_id: Option<i64>,
    pub how: Attribution,
    /// Confidence in per mille (1000 for exact matches).
    pub score: i64,
}

impl Match {
    const UNMATCHED: Match = Match {
        enterprise_id: None,
        project_id: None,
        how: Attribution::Unmatched,
        score: 0,
    };

    fn exact(enterprise_id: i64, project_id: Option<i64>, how: Attribution) -> Match {
        Match {
            enterprise_id: Some(enterprise_id),
            project_id,
            how,
            score: 1000,
        }
    }
}

/// A key that names one thing, or several (then it decides nothing).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target<T> {
    One(T),
    Ambiguous,
}

fn insert<T: PartialEq + Copy>(map: &mut FastMap<String, Target<T>>, key: String, value: T) {
    if key.is_empty() {
        return;
    }
    map.entry(key)
        .and_modify(|t| {
            if *t != Target::One(value) {
                *t = Target::Ambiguous;
            }
        })
        .or_insert(Target::One(value));
}

struct ProjectEntry {
    id: i64,
    enterprise_id: i64,
    name: HashSet<(char, char)>,
    address: HashSet<(char, char)>,
}

/// The registry, indexed for attribution. Built once per import.
pub struct Attributor {
    by_code: FastMap<String, i64>,
    by_name: FastMap<String, Target<i64>>,
    by_alias: FastMap<String, Target<i64>>,
    project_by_name: FastMap<String, Target<(i64, i64)>>,
    project_by_alias: FastMap<String, Target<(i64, i64)>>,
    /// Every project key (names and aliases), for "the text contains a project's name".
    contained: Option<(AhoCorasick, Vec<(i64, i64)>)>,
    projects: Vec<ProjectEntry>,
    postings: HashMap<(char, char), Vec<u32>>,
    fuzzy_cache: FastMap<String, Match>,
    /// What each (credit code, enterprise, community) seen so far came to, by a 128-bit
    /// digest of the three: an export names the same enterprise and community again and
    /// again (the benchmark's million tickets, ~104,000 pairs), and normalizing and looking
    /// them up was a tenth of an import's CPU. Bounded by [`MEMO_MAX`].
    memo: FastMap<u128, Match>,
    /// The bytes a memo key is taken over, reused.
    scratch: Vec<u8>,
    pub county_of: FastMap<i64, i64>,
}

/// The registry's rows as read, before they are indexed ([`Registry::index`]): reading is a
/// few queries inside the import's transaction, indexing ~0.2 s of CPU for 30,000 projects,
/// which an import does on a thread of its own while the file is parsed.
pub struct Registry {
    enterprises: Vec<(i64, String, String, i64)>,
    e_aliases: Vec<(i64, String)>,
    projects: Vec<(i64, i64, String, String)>,
    p_aliases: Vec<(i64, String)>,
}

impl Registry {
    pub async fn load(conn: &mut Conn<'_>) -> Result<Registry> {
        let enterprises = on_conn!(conn, |c| sqlx::query_as(
            "SELECT id, credit_code, name, county_id FROM enterprises"
        )
        .fetch_all(c)
        .await)?;
        let e_aliases = on_conn!(conn, |c| sqlx::query_as(
            "SELECT enterprise_id, alias FROM enterprise_aliases"
        )
        .fetch_all(c)
        .await)?;
        let projects = on_conn!(conn, |c| sqlx::query_as(
            "SELECT id, enterprise_id, name, address FROM projects"
        )
        .fetch_all(c)
        .await)?;
        let p_aliases = on_conn!(conn, |c| sqlx::query_as(
            "SELECT project_id, alias FROM project_aliases"
        )
        .fetch_all(c)
        .await)?;
        Ok(Registry {
            enterprises,
            e_aliases,
            projects,
            p_aliases,
        })
    }

    pub fn index(&self) -> Attributor {
        Attributor::build(
            &self.enterprises,
            &self.e_aliases,
            &self.projects,
            &self.p_aliases,
        )
    }
}

/// Distinct (credit code, enterprise, community) an import remembers: ~15 MB at most.
const MEMO_MAX: usize = 1 << 18;

impl Attributor {
    pub fn build(
        enterprises: &[(i64, String, String, i64)],
        e_aliases: &[(i64, String)],
        projects: &[(i64, i64, String, String)],
        p_aliases: &[(i64, String)],
    ) -> Attributor {
        let mut a = Attributor {
            by_code: FastMap::default(),
            by_name: FastMap::default(),
            by_alias: FastMap::default(),
            project_by_name: FastMap::default(),
            project_by_alias: FastMap::default(),
            contained: None,
            projects: Vec::with_capacity(projects.len()),
            postings: HashMap::new(),
            fuzzy_cache: FastMap::default(),
            memo: FastMap::default(),
            scratch: Vec::new(),
            county_of: FastMap::default(),
        };
        for (id, code, name, county) in enterprises {
            a.by_code.insert(code.clone(), *id);
            insert(&mut a.by_name, enterprise_key(name), *id);
            a.county_of.insert(*id, *county);
        }
        for (id, alias) in e_aliases {
            insert(&mut a.by_alias, enterprise_key(alias), *id);
        }
        let owner: HashMap<i64, i64> = projects.iter().map(|(id, e, _, _)| (*id, *e)).collect();
        let mut contained_keys: Vec<String> = Vec::new();
        let mut contained_targets: Vec<(i64, i64)> = Vec::new();
        for (id, enterprise_id, name, address) in projects {
            let key = project_key(name);
            insert(&mut a.project_by_name, key.clone(), (*id, *enterprise_id));
            if key.chars().count() >= MIN_CONTAINED_CHARS {
                contained_keys.push(key.clone());
                contained_targets.push((*id, *enterprise_id));
            }
            let pos = a.projects.len() as u32;
            let name_grams = bigrams(&key);
            let address_grams = bigrams(&strip_punctuation(address));
            for g in name_grams.union(&address_grams) {
                a.postings.entry(*g).or_default().push(pos);
            }
            a.projects.push(ProjectEntry {
                id: *id,
                enterprise_id: *enterprise_id,
                name: name_grams,
                address: address_grams,
            });
        }
        for (pid, alias) in p_aliases {
            if let Some(e) = owner.get(pid) {
                let key = project_key(alias);
                insert(&mut a.project_by_alias, key.clone(), (*pid, *e));
                if key.chars().count() >= MIN_CONTAINED_CHARS {
                    contained_keys.push(key);
                    contained_targets.push((*pid, *e));
                }
            }
        }
        if !contained_keys.is_empty() {
            // Leftmost-longest: "运河湾二期" is found before "运河湾".
            if let Ok(ac) = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&contained_keys)
            {
                a.contained = Some((ac, contained_targets));
            }
        }
        a
    }

    /// Who the ticket is about, from what the caller said.
    pub fn attribute(
        &mut self,
        credit_code: &str,
        enterprise_text: &str,
        community_text: &str,
    ) -> Match {
        // One pass over one buffer: the streaming hasher's per-call cost was as much again.
        self.scratch.clear();
        for text in [credit_code, enterprise_text, community_text] {
            self.scratch
                .extend_from_slice(&(text.len() as u64).to_le_bytes());
            self.scratch.extend_from_slice(text.as_bytes());
        }
        let key = xxhash_rust::xxh3::xxh3_128(&self.scratch);
        if let Some(m) = self.memo.get(&key) {
            return *m;
        }
        let m = self.attribute_anew(credit_code, enterprise_text, community_text);
        if self.memo.len() < MEMO_MAX {
            self.memo.insert(key, m);
        }
        m
    }

    fn attribute_anew(
        &mut self,
        credit_code: &str,
        enterprise_text: &str,
        community_text: &str,
    ) -> Match {
        if let Ok(code) = CreditCode::parse(credit_code) {
            if let Some(id) = self.by_code.get(code.as_str()) {
                return Match::exact(*id, None, Attribution::CreditCode);
            }
        }
        let ek = enterprise_key(enterprise_text);
        if !ek.is_empty() {
            if let Some(Target::One(id)) = self.by_name.get(&ek) {
                return Match::exact(*id, None, Attribution::EnterpriseName);
            }
            if let Some(Target::One(id)) = self.by_alias.get(&ek) {
                return Match::exact(*id, None, Attribution::EnterpriseAlias);
            }
        }
        let pk = project_key(community_text);
        if pk.is_empty() {
            return Match::UNMATCHED;
        }
        if let Some(Target::One((p, e))) = self.project_by_name.get(&pk) {
            return Match::exact(*e, Some(*p), Attribution::ProjectName);
        }
        if let Some(Target::One((p, e))) = self.project_by_alias.get(&pk) {
            return Match::exact(*e, Some(*p), Attribution::ProjectAlias);
        }
        if let Some(m) = self.fuzzy_cache.get(&pk) {
            return *m;
        }
        let m = self.fuzzy(&pk);
        self.fuzzy_cache.insert(pk, m);
        m
    }

    fn fuzzy(&self, key: &str) -> Match {
        // The text names a project among other words ("运河湾小区3号楼东单元").
        if let Some((ac, targets)) = &self.contained {
            let found: HashSet<(i64, i64)> = ac
                .find_iter(key)
                .map(|m| targets[m.pattern().as_usize()])
                .collect();
            let enterprises: HashSet<i64> = found.iter().map(|(_, e)| *e).collect();
            if enterprises.len() == 1 {
                let project = if found.len() == 1 {
                    found.iter().next().map(|(p, _)| *p)
                } else {
                    None
                };
                let e = *enterprises.iter().next().unwrap_or(&0);
                return Match {
                    enterprise_id: Some(e),
                    project_id: project,
                    how: Attribution::Fuzzy,
                    score: 900,
                };
            }
        }
        // Otherwise: the most similar project name or address, if clearly similar and unique.
        // Bigrams shared by very many projects (路号, 花园…) say little and would make every
        // project a candidate: they are skipped, and only the projects sharing the most of the
        // remaining bigrams are scored.
        let grams = bigrams(key);
        let common = (self.projects.len() / 50).max(64);
        let mut hits: HashMap<u32, u32> = HashMap::new();
        for g in &grams {
            if let Some(list) = self.postings.get(g).filter(|l| l.len() <= common) {
                for pos in list {
                    *hits.entry(*pos).or_insert(0) += 1;
                }
            }
        }
        let mut ranked: Vec<(u32, u32)> = hits.into_iter().filter(|(_, h)| *h >= 2).collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(MAX_SCORED);
        let candidates = ranked.into_iter().map(|(pos, _)| pos);
        let mut best: Option<(f64, &ProjectEntry)> = None;
        let mut tie = false;
        for pos in candidates {
            let p = &self.projects[pos as usize];
            let score = dice(&grams, &p.name).max(dice(&grams, &p.address));
            match best {
                Some((b, bp))
                    if (score - b).abs() < 1e-9 && bp.enterprise_id != p.enterprise_id =>
                {
                    tie = true
                }
                Some((b, _)) if score <= b => {}
                _ => {
                    best = Some((score, p));
                    tie = false;
                }
            }
        }
        match best {
            Some((score, p)) if score >= FUZZY_THRESHOLD && !tie => Match {
                enterprise_id: Some(p.enterprise_id),
                project_id: Some(p.id),
                how: Attribution::Fuzzy,
                score: (score * 1000.0).round() as i64,
            },
            _ => Match::UNMATCHED,
        }
    }
}

/// Adds an alias chosen by an officer, if the registry does not already know the text.
/// Returns the alias added.
pub async fn learn_alias(
    conn: &mut Conn<'_>,
    enterprise_id: i64,
    project_id: Option<i64>,
    enterprise_text: &str,
    community_text: &str,
) -> Result<Option<String>> {
    let community = crate::text::tidy(community_text);
    if let (Some(pid), false) = (project_id, community.is_empty()) {
        let (name,): (String,) = on_conn!(conn, |c| sqlx::query_as(
            "SELECT name FROM projects WHERE id = $1"
        )
        .bind(pid)
        .fetch_optional(c)
        .await)?
        .ok_or_else(|| Error::invalid("project_id", "项目不存在"))?;
        let known: Vec<String> = on_conn!(conn, |c| sqlx::query_scalar(
            "SELECT alias FROM project_aliases WHERE project_id = $1"
        )
        .bind(pid)
        .fetch_all(c)
        .await)?;
        if project_key(&name) != project_key(&community)
            && !known
                .iter()
                .any(|k| project_key(k) == project_key(&community))
        {
            on_conn!(conn, |c| sqlx::query(
                "INSERT INTO project_aliases (project_id, alias) VALUES ($1, $2)"
            )
            .bind(pid)
            .bind(&community)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            return Ok(Some(community));
        }
        return Ok(None);
    }
    let text = crate::text::tidy(enterprise_text);
    if text.is_empty() {
        return Ok(None);
    }
    let (name,): (String,) = on_conn!(conn, |c| sqlx::query_as(
        "SELECT name FROM enterprises WHERE id = $1"
    )
    .bind(enterprise_id)
    .fetch_one(c)
    .await)?;
    let known: Vec<String> = on_conn!(conn, |c| sqlx::query_scalar(
        "SELECT alias FROM enterprise_aliases WHERE enterprise_id = $1"
    )
    .bind(enterprise_id)
    .fetch_all(c)
    .await)?;
    if enterprise_key(&name) == enterprise_key(&text)
        || known
            .iter()
            .any(|k| enterprise_key(k) == enterprise_key(&text))
    {
        return Ok(None);
    }
    on_conn!(conn, |c| sqlx::query(
        "INSERT INTO enterprise_aliases (enterprise_id, alias) VALUES ($1, $2)"
    )
    .bind(enterprise_id)
    .bind(&text)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Attributor {
        let code = CreditCode::complete("91370811MA0000001")
            .unwrap()
            .to_string();
        Attributor::build(
            &[
                (1, code, "济宁鸿泰置业有限公司".into(), 10),
                (2, "X".into(), "山东金科房地产开发有限责任公司".into(), 10),
            ],
            &[(1, "鸿泰地产".into())],
            &[
                (
                    11,
                    1,
                    "鸿泰·御景园".into(),
                    "济宁市任城区共青团路18号".into(),
                ),
                (21, 2, "金科世纪城".into(), "兖州区九州大道8号".into()),
            ],
            &[(21, "世纪城小区".into())],
        )
    }

    #[test]
    fn each_path() {
        let mut a = sample();
        let code = CreditCode::complete("91370811MA0000001")
            .unwrap()
            .to_string()
            .to_lowercase();
        assert_eq!(a.attribute(&code, "", "").how, Attribution::CreditCode);
        assert_eq!(
            a.attribute("", "济宁鸿泰置业（有限公司）", "").how,
            Attribution::EnterpriseName
        );
        assert_eq!(
            a.attribute("", "山东金科房地产开发", "").enterprise_id,
            Some(2)
        );
        assert_eq!(
            a.attribute("", " 鸿泰地产 ", "").how,
            Attribution::EnterpriseAlias
        );
        let m = a.attribute("", "", "鸿泰御景园小区");
        assert_eq!((m.how, m.project_id), (Attribution::ProjectName, Some(11)));
        assert_eq!(a.attribute("", "", "世纪城").how, Attribution::ProjectAlias);
        let m = a.attribute("", "", "金科世纪城3号楼2单元");
        assert_eq!(
            (m.how, m.enterprise_id, m.project_id),
            (Attribution::Fuzzy, Some(2), Some(21))
        );
        let m = a.attribute("", "", "任城区共青团路18号院");
        assert_eq!(
            (m.how, m.enterprise_id),
            (Attribution::Fuzzy, Some(1)),
            "by address"
        );
        assert_eq!(
            a.attribute("", "某某物业", "幸福里").how,
            Attribution::Unmatched
        );
    }

    /// A remembered answer is the answer, and texts that run together differently are
    /// remembered apart.
    #[test]
    fn remembered_answers_are_the_same_answers() {
        let mut a = sample();
        let texts = [
            ("", "鸿泰地产", ""),
            ("", "", "鸿泰地产"),
            ("", "鸿泰", "地产"),
            ("", "", "金科世纪城3号楼2单元"),
            ("", "某某物业", "幸福里"),
        ];
        let first: Vec<Match> = texts.iter().map(|(c, e, p)| a.attribute(c, e, p)).collect();
        assert_eq!(a.memo.len(), texts.len());
        let again: Vec<Match> = texts.iter().map(|(c, e, p)| a.attribute(c, e, p)).collect();
        assert_eq!(first, again);
        let mut fresh = sample();
        let anew: Vec<Match> = texts
            .iter()
            .map(|(c, e, p)| fresh.attribute_anew(c, e, p))
            .collect();
        assert_eq!(first, anew);
        assert_eq!(first[0].how, Attribution::EnterpriseAlias);
        assert_ne!(first[0], first[2], "the same characters, split differently");
    }
}
