//! Deterministic generator of realistic names for the demo city 济宁市.
//!
//! Everything here is driven by a seeded [`Rng`], so the demo data (developers,
//! projects, people, phone numbers, addresses) is identical on every machine.
//! Word lists are stored as space-separated strings to keep the file compact.

/// SplitMix64: small deterministic PRNG so the demo is the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// uniform in 0..n (n > 0)
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below requires n > 0");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// true with probability num/den
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// A uniformly chosen element; panics if `items` is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A county of the demo city: admin division code and name.
pub const COUNTIES: &[(&str, &str)] = &[
    ("370811", "任城区"),
    ("370812", "兖州区"),
    ("370881", "曲阜市"),
    ("370883", "邹城市"),
    ("370828", "金乡县"),
    ("370829", "嘉祥县"),
];
pub const CITY: (&str, &str) = ("370800", "济宁市");

/// Developer brand words (all exactly two characters).
const BRANDS: &str =
    "鸿泰 金宇 运河 圣城 如意 华润 绿地 中建 海天 太白 鲁商 万达 儒家 尼山 微湖 汶河 \
    泗河 东方 盛世 锦绣 璟园 金科 荷都 凤凰 九龙 银河 宏源 泰和 祥瑞 天成 鼎盛 瑞丰 德润 嘉和 \
    华宇 恒升 明德 信达 颐和 开元";
/// Business-line words of a developer's registered name.
const KINDS: &str = "置业 房地产开发 地产 城建 建设发展 实业 置地 房地产 城市建设 投资置业";
/// Distinguishing words inserted after the brand once brand × kind is exhausted.
const EXTRAS: &str = "恒信 宏达 安居 福源 兴业 广厦 永安 景瑞";
/// Project name heads (all exactly two characters).
const HEADS: &str =
    "鸿泰 金宇 运河 圣城 如意 太白 儒家 尼山 微湖 汶河 泗河 东方 盛世 锦绣 荷花 翡翠 \
    阳光 香榭 紫金 明珠 银座 凤凰 蓝湖 杏坛 洙泗 洸河 北湖 南池 古槐 琵琶 铁塔 声远 崇文 济安 \
    仙营 峄山 春秋 九龙 金科 泰和 翰林 书香 水木 怡景 御河 龙泉 清荷 观澜 华宇 天泽";
/// Project name tails.
const TAILS: &str =
    "花园 家园 小区 公馆 名邸 府 城 苑 壹号 湾 华庭 御景园 新城 世纪城 雅居 名苑 学府 \
    悦府 壹号院 湾小区 花园小区 嘉园";
/// Tails that read well after a "品牌·" prefix, e.g. "鸿泰·御景园".
const FANCY_TAILS: &str = "公馆 名邸 华庭 御景园 世纪城 悦府 壹号院 学府";
const PHASES: &str = "一期 二期 三期 四期 五期";
const ORIGINS: &str =
    "济南市 青岛市 烟台市 潍坊市 临沂市 泰安市 北京市 上海市 天津市 江苏省南京市 \
    江苏省徐州市 浙江省杭州市 河南省郑州市 广东省深圳市";
const SURNAMES: &str = "王 李 张 刘 孔 孟 颜 陈 杨 赵 黄 周 吴 徐 孙 马 朱 胡 郭 何 高 林 郑 梁 \
    宋 韩 冯 于 董 程 曹 袁 许 傅 彭 吕 苏 贾 丁 魏 薛 曾 田 任 姜 范 石 姚 崔 侯 邵 史 武 乔";
const GIVEN: &str =
    "建国 志强 秀英 桂兰 海燕 晓东 丽娟 文博 子涵 欣怡 浩然 雨轩 宏伟 立新 春梅 玉梅 \
    国庆 建华 秀兰 俊杰 明辉 晓燕 振华 淑芬 玉兰 庆军 红霞 传友 繁荣 昭阳 思远 佳琪 梦瑶 \
    伟 芳 磊 静 敏 勇 军 杰 娜 涛 强 艳 鹏 丹 超 刚 斌";
const MOBILE_PREFIXES: &str =
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 \
    158 159 170 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199";

fn words(list: &'static str) -> Vec<&'static str> {
    list.split_whitespace().collect()
}

fn pick_word(rng: &mut Rng, list: &'static str) -> &'static str {
    let words = words(list);
    words[rng.below(words.len() as u64) as usize]
}

/// "任城区" -> "任城", "曲阜市" -> "曲阜".
fn county_short(county_name: &str) -> &str {
    county_name
        .strip_suffix(|c| matches!(c, '区' | '市' | '县'))
        .unwrap_or(county_name)
}

/// Enterprise name like "济宁鸿泰置业有限公司" / "山东金科房地产开发有限公司" / "曲阜圣城房地产开发有限责任公司".
/// The brand, business line and (if needed) a distinguishing word are derived from `i`,
/// so names are distinct for distinct `i` (in 0..3600) with any rng state.
pub fn enterprise_name(rng: &mut Rng, county_name: &str, i: usize) -> String {
    let (brands, kinds, extras) = (words(BRANDS), words(KINDS), words(EXTRAS));
    let (b, tier) = (i % brands.len(), i / brands.len());
    let kind = kinds[(tier + b) % kinds.len()];
    let extra = match tier / kinds.len() {
        0 => "",
        n => extras[(n - 1) % extras.len()],
    };
    let short = county_short(county_name);
    let place = match rng.below(10) {
        0..=5 => "济宁",
        6..=8 if !short.is_empty() => short,
        _ => "山东",
    };
    let suffix = if rng.chance(1, 5) {
        "有限责任公司"
    } else {
        "有限公司"
    };
    format!("{place}{}{extra}{kind}{suffix}", brands[b])
}

/// Short alias of an enterprise name as callers would say it: e.g. "鸿泰置业" or "鸿泰地产".
pub fn enterprise_alias(full_name: &str) -> String {
    let mut s = full_name;
    for suffix in ["股份有限公司", "有限责任公司", "有限公司", "公司"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest;
            break;
        }
    }
    let mut prefixes = vec!["山东省", "山东", "济宁市", "济宁"];
    prefixes.extend(COUNTIES.iter().map(|(_, name)| county_short(name)));
    for p in prefixes {
        match s.strip_prefix(p) {
            Some(rest) if !rest.is_empty() => {
                s = rest;
                break;
            }
            _ => {}
        }
    }
    let renames = [
        ("房地产开发", "地产"),
        ("房地产", "地产"),
        ("投资置业", "置业"),
        ("城市建设", "城建"),
        ("建设发展", "建设"),
    ];
    for (from, to) in renames {
        if let Some(brand) = s.strip_suffix(from).filter(|b| !b.is_empty()) {
            return format!("{brand}{to}");
        }
    }
    if s.is_empty() {
        full_name.to_string()
    } else {
        s.to_string()
    }
}

/// Out-of-town origin for out-of-town developers: e.g. "济南市", "青岛市", "北京市", "江苏省南京市".
pub fn origin_city(rng: &mut Rng) -> &'static str {
    pick_word(rng, ORIGINS)
}

/// A person's name (2–3 characters, realistic surnames and given names).
pub fn person_name(rng: &mut Rng) -> String {
    let surnames = words(SURNAMES);
    // Skew towards the front of the list, where the common surnames are.
    let n = surnames.len() as u64;
    let idx = rng.below(n).min(rng.below(n)) as usize;
    format!("{}{}", surnames[idx], pick_word(rng, GIVEN))
}

/// Mobile phone number, 11 digits starting with 13x/15x/18x/17x/19x.
pub fn mobile(rng: &mut Rng) -> String {
    let prefix = pick_word(rng, MOBILE_PREFIXES);
    format!("{prefix}{:08}", rng.below(100_000_000))
}

/// Project/community name like "鸿泰·御景园", "金科世纪城", "圣城花园三期", "运河湾小区".
/// Head, tail and phase are derived from `i`, so names are distinct for distinct `i`
/// (in 0..5500) with any rng state; the rng only picks the "·" style and an optional "一期".
pub fn project_name(rng: &mut Rng, i: usize) -> String {
    let (heads, tails, phases) = (words(HEADS), words(TAILS), words(PHASES));
    let per_tier = heads.len() * tails.len();
    let (n, tier) = (i % per_tier, i / per_tier);
    let head = heads[n % heads.len()];
    let tail = tails[(n / heads.len() + n) % tails.len()];
    let dot = if words(FANCY_TAILS).contains(&tail) && rng.chance(1, 3) {
        "·"
    } else {
        ""
    };
    let phase = match tier % phases.len() {
        0 if rng.chance(1, 8) => "一期",
        0 => "",
        t => phases[t],
    };
    format!("{head}{dot}{tail}{phase}")
}

/// Aliases a caller might use for a project: e.g. "御景园" for "鸿泰·御景园", "世纪城" for
/// "金科世纪城"; possibly empty vec.
pub fn project_aliases(rng: &mut Rng, name: &str) -> Vec<String> {
    let base = words(PHASES)
        .into_iter()
        .find_map(|p| name.strip_suffix(p).filter(|b| b.chars().count() >= 2))
        .unwrap_or(name);
    let plain = base.replace('·', "");
    let mut out = vec![base.to_string(), plain.clone()];
    let rest: String = match base.split_once('·') {
        Some((_, rest)) => rest.to_string(),
        None => base.chars().skip(2).collect(),
    };
    if rest.chars().count() >= 3 && !rest.contains("小区") {
        out.push(rest);
    }
    if !plain.ends_with("小区") && rng.chance(1, 3) {
        out.push(format!("{plain}小区"));
    }
    let mut uniq: Vec<String> = Vec::new();
    for a in out {
        if a != name && !a.is_empty() && !uniq.contains(&a) {
            uniq.push(a);
        }
    }
    uniq
}

/// Street address within the county: "济宁市任城区共青团路18号".
pub fn address(rng: &mut Rng, county_name: &str) -> String {
    let roads = match county_short(county_name) {
        "兖州" => "九州大道 中御桥路 建设路 人民路 文化路 龙桥路",
        "曲阜" => "春秋路 静轩路 鼓楼街 大成路 逵泉路 五马祠街",
        "邹城" => "孟子大街 唐村路 奎星路 岗山路 千泉路 峄山路",
        "金乡" => "金城路 奎星路 中心街 人民路 文化路",
        "嘉祥" => "建设路 呈祥大道 人民路 文化路 萌山路",
        _ => {
            "共青团路 太白楼路 建设路 红星路 古槐路 琵琶山路 洸河路 吴泰闸路 金宇路 崇文大道 \
             荷花路 济安桥路 火炬路 车站西路"
        }
    };
    let road = pick_word(rng, roads);
    let max = if rng.chance(1, 4) { 300 } else { 80 };
    let number = 1 + rng.below(max);
    format!("{}{county_name}{road}{number}号", CITY.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn sample(seed: u64) -> Vec<String> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::new();
        for i in 0..50 {
            let county = rng.pick(COUNTIES).1;
            let project = project_name(&mut rng, i);
            out.extend(project_aliases(&mut rng, &project));
            out.extend([enterprise_name(&mut rng, county, i), project]);
            out.extend([person_name(&mut rng), mobile(&mut rng)]);
            out.extend([origin_city(&mut rng).into(), address(&mut rng, county)]);
        }
        out
    }

    #[test]
    fn deterministic() {
        assert_eq!(sample(7), sample(7));
        assert_ne!(sample(7), sample(8));
        let mut rng = Rng::new(1);
        assert!((0..1000).all(|_| rng.below(7) < 7 && !rng.chance(0, 5) && rng.chance(5, 5)));
    }

    #[test]
    fn enterprise_names_unique_and_aliases_shorter() {
        let mut rng = Rng::new(2024);
        let mut seen = HashSet::new();
        for i in 0..500 {
            let name = enterprise_name(&mut rng, COUNTIES[i % COUNTIES.len()].1, i);
            let alias = enterprise_alias(&name);
            let brand: String = alias.chars().take(2).collect();
            let shorter = alias.chars().count() < name.chars().count();
            assert!(shorter && brand.chars().count() == 2 && name.contains(&brand));
            assert!(seen.insert(name.clone()), "duplicate {name}");
        }
        assert_eq!(enterprise_alias("济宁鸿泰置业有限公司"), "鸿泰置业");
        assert_eq!(
            enterprise_alias("曲阜圣城房地产开发有限责任公司"),
            "圣城地产"
        );
    }

    #[test]
    fn project_names_unique() {
        let mut rng = Rng::new(99);
        let mut seen = HashSet::new();
        for i in 0..2000 {
            let name = project_name(&mut rng, i);
            let aliases = project_aliases(&mut rng, &name);
            assert!(aliases.iter().all(|a| !a.is_empty() && *a != name));
            assert!(seen.insert(name.clone()), "duplicate {name}");
        }
        let mut rng = Rng::new(0);
        assert!(project_aliases(&mut rng, "鸿泰·御景园").contains(&"御景园".into()));
        assert!(project_aliases(&mut rng, "金科世纪城").contains(&"世纪城".into()));
    }

    #[test]
    fn mobiles_people_addresses() {
        let mut rng = Rng::new(5);
        for _ in 0..500 {
            let m = mobile(&mut rng);
            assert!(m.len() == 11 && m.starts_with('1'), "{m}");
            assert!(m.bytes().all(|b| b.is_ascii_digit()), "{m}");
            let p = person_name(&mut rng);
            assert!((2..=3).contains(&p.chars().count()), "{p}");
            let county = rng.pick(COUNTIES).1;
            let a = address(&mut rng, county);
            assert!(a.starts_with(&format!("济宁市{county}")), "{a}");
        }
        assert!(words(BRANDS).iter().all(|w| w.chars().count() == 2));
        assert!(words(HEADS).iter().all(|w| w.chars().count() == 2));
    }
}
