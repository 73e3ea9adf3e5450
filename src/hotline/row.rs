//! One row of a hotline export, parsed into a ticket: times in Beijing wall-clock text become
//! UTC epoch seconds, a deadline may be a span after forwarding, and every refusal names the
//! field and the value.

use chrono::{DateTime, TimeZone};

use super::profile::FIELDS;
use super::{Satisfaction, DAY};
use crate::calendar::{Calendar, Span};
use crate::import::Header;
use crate::tabular::RawRow;
use crate::text;
use crate::time;

/// One parsed row, ready to store.
#[derive(Debug, Clone, Default)]
pub struct Ticket {
    /// What the source wrote, tidied: read with [`Ticket::text`].
    texts: Texts,
    pub received_at: i64,
    pub forwarded_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub responded_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub satisfaction: Option<Satisfaction>,
    pub revisited: bool,
    pub revisited_at: Option<i64>,
    pub group_petition: bool,
    // Derived:
    /// Codes of the process's shared taxonomy (`Classifier::shared`).
    pub category: &'static str,
    pub subcategory: &'static str,
    pub severity: &'static str,
    pub enterprise_id: Option<i64>,
    pub project_id: Option<i64>,
    pub county_id: Option<i64>,
    pub attribution: &'static str,
    pub attribution_score: i64,
    pub row_hash: String,
    /// Which profile fields the ticket's import had a column for (bit i: `FIELDS[i]`).
    pub source_fields: i64,
    /// Whether the source's ticket is already stored: the import updates it rather than adds it.
    pub stored: bool,
}

/// A ticket's text fields, as the source wrote them (tidied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    TicketNo,
    Channel,
    District,
    Community,
    Enterprise,
    CreditCode,
    SourceCategory,
    Content,
}

const TEXTS: usize = 8;

/// A ticket's texts in one buffer, in [`Text`] order: a `String` each was eight allocations a
/// row, made on the parsing thread and freed on the writer's (perf: with the rest of the
/// allocator's work, a sixth of a million-row import's CPU).
#[derive(Debug, Clone, Default)]
struct Texts {
    buf: String,
    ends: [usize; TEXTS],
}

impl Texts {
    fn new(values: [&str; TEXTS]) -> Texts {
        let mut buf = String::with_capacity(values.iter().map(|v| v.len()).sum());
        let mut ends = [0; TEXTS];
        for (end, value) in ends.iter_mut().zip(values) {
            buf.push_str(value);
            *end = buf.len();
        }
        Texts { buf, ends }
    }

    fn get(&self, f: Text) -> &str {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.buf.get(start..self.ends[i]).unwrap_or("")
    }
}

impl Ticket {
    pub fn text(&self, f: Text) -> &str {
        self.texts.get(f)
    }

    pub fn ticket_no(&self) -> &str {
        self.texts.get(Text::TicketNo)
    }

    /// The ticket with one text replaced (for tests and tools; an import builds all at once).
    pub fn with_text(mut self, f: Text, value: &str) -> Ticket {
        let mut values = ALL_TEXTS.map(|f| self.texts.get(f));
        values[f as usize] = value;
        self.texts = Texts::new(values);
        self
    }
}

const ALL_TEXTS: [Text; TEXTS] = [
    Text::TicketNo,
    Text::Channel,
    Text::District,
    Text::Community,
    Text::Enterprise,
    Text::CreditCode,
    Text::SourceCategory,
    Text::Content,
];

/// Beijing wall-clock text → UTC epoch seconds.
fn epoch(s: &str) -> Option<i64> {
    let dt = text::parse_datetime(s)?;
    crate::time::china()
        .from_local_datetime(&dt)
        .single()
        .map(|t| t.timestamp())
}

/// The profile fields a ticket is read from, in `profile::FIELDS` order.
#[derive(Debug, Clone, Copy)]
enum Field {
    TicketNo,
    ReceivedAt,
    Channel,
    District,
    Community,
    Enterprise,
    CreditCode,
    Category,
    Content,
    ForwardedAt,
    DeadlineAt,
    RespondedAt,
    ClosedAt,
    Satisfaction,
    Revisited,
    RevisitedAt,
    GroupPetition,
}

const FIELD_COUNT: usize = 17;
const _: () = assert!(FIELDS.len() == FIELD_COUNT);

/// Where each field sits in a row, looked up once per file rather than for every cell.
#[derive(Debug, Clone)]
pub struct Columns {
    at: [Option<usize>; FIELD_COUNT],
}

impl Columns {
    pub fn new(header: &Header) -> Columns {
        let mut at = [None; FIELD_COUNT];
        for (slot, key) in at.iter_mut().zip(FIELDS) {
            *slot = header.position(key);
        }
        Columns { at }
    }

    /// The raw cell of a field; empty when the column or cell is missing.
    fn raw<'r>(&self, row: &'r RawRow, f: Field) -> &'r str {
        self.at[f as usize]
            .and_then(|i| row.cells.get(i))
            .unwrap_or("")
    }
}

fn time_field(
    cols: &Columns,
    row: &RawRow,
    f: Field,
    label: &str,
) -> std::result::Result<Option<i64>, String> {
    let raw = cols.raw(row, f).trim();
    if raw.is_empty() {
        return Ok(None);
    }
    epoch(raw)
        .map(Some)
        .ok_or_else(|| format!("{label}“{raw}”不是可识别的日期时间"))
}

/// A deadline is a date-time, or a span such as `3天` / `5个工作日` after forwarding. Working
/// days are counted on the official calendar ([`Calendar`]): the deadline is the same time of
/// day on the n-th working day, and a year without a calendar rejects the row by name.
fn deadline(raw: &str, from: Option<i64>) -> std::result::Result<Option<i64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Some(t) = epoch(raw) {
        return Ok(Some(t));
    }
    let span: Span = text::clean(raw)
        .parse()
        .map_err(|e: String| format!("办理时限：{e}"))?;
    let Some(f) = from else {
        return Ok(None);
    };
    let out_of_range = || format!("办理时限“{raw}”超出可表示的时间范围");
    match span {
        Span::Days(n) => f
            .checked_add(i64::from(n) * DAY)
            .map(Some)
            .ok_or_else(out_of_range),
        Span::WorkingDays(n) => {
            let start = DateTime::from_timestamp(f, 0)
                .ok_or_else(out_of_range)?
                .with_timezone(&time::china());
            let due = Calendar::official()
                .add_working_days(start.date_naive(), n)
                .map_err(|e| format!("办理时限“{raw}”：{e}"))?;
            let days = (due - start.date_naive()).num_days();
            f.checked_add(days * DAY).map(Some).ok_or_else(out_of_range)
        }
    }
}

pub fn parse_row(cols: &Columns, row: &RawRow) -> std::result::Result<Ticket, String> {
    let cell = |f: Field| text::tidy_cow(cols.raw(row, f));
    let ticket_no = text::clean_cow(cols.raw(row, Field::TicketNo));
    if ticket_no.is_empty() {
        return Err("工单编号为空".into());
    }
    let received_raw = cols.raw(row, Field::ReceivedAt).trim();
    if received_raw.is_empty() {
        return Err("受理时间为空".into());
    }
    let received_at = epoch(received_raw)
        .ok_or_else(|| format!("受理时间“{received_raw}”不是可识别的日期时间"))?;
    let forwarded_at = time_field(cols, row, Field::ForwardedAt, "转办时间")?;
    let responded_at = time_field(cols, row, Field::RespondedAt, "答复时间")?;
    let closed_at = time_field(cols, row, Field::ClosedAt, "办结时间")?;
    let revisited_at = time_field(cols, row, Field::RevisitedAt, "回访时间")?;
    let deadline_at = deadline(
        cols.raw(row, Field::DeadlineAt),
        forwarded_at.or(Some(received_at)),
    )?;
    if closed_at.is_some_and(|c| c < received_at) {
        return Err("办结时间早于受理时间".into());
    }
    if forwarded_at.is_some_and(|f| f < received_at) {
        return Err("转办时间早于受理时间".into());
    }
    if let (Some(r), Some(f)) = (responded_at, forwarded_at) {
        if r < f {
            return Err("答复时间早于转办时间".into());
        }
    }
    let sat_raw = cols.raw(row, Field::Satisfaction);
    let satisfaction = Satisfaction::parse(sat_raw).ok_or_else(|| {
        format!(
            "满意度“{}”无法识别（应为满意、基本满意、不满意或未评价）",
            sat_raw.trim()
        )
    })?;
    let rev_raw = cols.raw(row, Field::Revisited);
    let revisited = if rev_raw.trim().is_empty() {
        revisited_at.is_some()
    } else {
        text::parse_bool(rev_raw, &["已回访", "回访"], &["未回访", "不需回访"])
            .ok_or_else(|| format!("是否回访“{}”无法识别", rev_raw.trim()))?
            || revisited_at.is_some()
    };
    let group_raw = cols.raw(row, Field::GroupPetition);
    let group_petition = if group_raw.trim().is_empty() {
        false
    } else {
        text::parse_bool(group_raw, &["群体", "群访", "是群体"], &["个人", "非群体"])
            .ok_or_else(|| format!("是否群体诉求“{}”无法识别", group_raw.trim()))?
    };
    let texts = Texts::new([
        &ticket_no,
        &cell(Field::Channel),
        &cell(Field::District),
        &cell(Field::Community),
        &cell(Field::Enterprise),
        &text::clean_cow(cols.raw(row, Field::CreditCode)),
        &cell(Field::Category),
        &cell(Field::Content),
    ]);
    Ok(Ticket {
        texts,
        received_at,
        forwarded_at,
        deadline_at,
        responded_at,
        closed_at,
        satisfaction: Some(satisfaction),
        revisited,
        revisited_at,
        group_petition,
        ..Ticket::default()
    })
}

/// How long a row digest of the first releases is: the first eight bytes of a SHA-256, in hex.
/// Tickets stored then keep it until their row changes ([`Ticket::digest_like`]).
const LEGACY_DIGEST_LEN: usize = 16;

impl Ticket {
    /// A digest of what the source said (not of what we derived), to tell an updated row from
    /// an unchanged one on re-import. Stored, so it must come out the same from every build:
    /// XXH3-128, a fixed specification, over the fields, each written with its length or a
    /// presence byte so that no two different rows feed the same bytes (the standard
    /// library's `DefaultHasher` may change between Rust releases, which would make every
    /// stored row look updated). It tells a file's edits apart, not an adversary's: SHA-256,
    /// which the first releases used, was a tenth of a million-row import's parsing.
    pub(super) fn source_hash(&self) -> String {
        // The lengths and the other fields first, then the texts' buffer as it is: two
        // updates instead of thirty (the lengths say where each text ends).
        let mut head = [0u8; 160];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            head[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        for f in ALL_TEXTS {
            put(&(self.texts.get(f).len() as u64).to_le_bytes());
        }
        self.feed_rest(&mut put);
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&head[..at]);
        h.update(self.texts.buf.as_bytes());
        hex(h.digest128())
    }

    /// The digest in the form `stored` has: a ticket stored by the first releases is compared
    /// by the digest they computed, so upgrading does not make every stored row look updated.
    /// When the row did change, it is stored with the current digest.
    pub(super) fn digest_like(&self, stored: &str) -> String {
        if stored.len() != LEGACY_DIGEST_LEN {
            return self.source_hash();
        }
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        self.feed(|bytes| h.update(bytes));
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let legacy = format!("{:016x}", u64::from_be_bytes(first));
        if legacy == stored {
            legacy
        } else {
            self.source_hash()
        }
    }

    /// The bytes the first releases' digest is taken over.
    fn feed(&self, mut put: impl FnMut(&[u8])) {
        for text in ALL_TEXTS.map(|f| self.texts.get(f)) {
            put(&(text.len() as u64).to_le_bytes());
            put(text.as_bytes());
        }
        self.feed_rest(&mut put);
    }

    /// The fields besides the texts, as both digests take them: at most 8 + 12 + 6 × 9 + 2
    /// bytes (the longest satisfaction code is 12).
    fn feed_rest(&self, put: &mut impl FnMut(&[u8])) {
        let satisfaction = self.satisfaction.map_or("", Satisfaction::code);
        put(&(satisfaction.len() as u64).to_le_bytes());
        put(satisfaction.as_bytes());
        for time in [
            Some(self.received_at),
            self.forwarded_at,
            self.deadline_at,
            self.responded_at,
            self.closed_at,
            self.revisited_at,
        ] {
            match time {
                Some(t) => {
                    put(&[1]);
                    put(&t.to_le_bytes());
                }
                None => put(&[0]),
            }
        }
        put(&[u8::from(self.revisited), u8::from(self.group_petition)]);
    }
}

/// 32 lowercase hex digits, without the formatting machinery (a million times an import).
fn hex(v: u128) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits: Vec<u8> = (0..32)
        .rev()
        .map(|i| DIGITS[((v >> (i * 4)) & 0xf) as usize])
        .collect();
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest is stored: these values must not change from one build or release to the
    /// next, and any field the source changes must change it.
    #[test]
    fn a_row_digest_is_the_same_in_every_build() {
        const XXH3: &str = "d165ed0bb44769801a35ef75ead225cf";
        let t = Ticket {
            received_at: 1_735_000_000,
            forwarded_at: Some(1_735_003_600),
            satisfaction: Some(Satisfaction::Satisfied),
            revisited: true,
            ..Ticket::default()
        }
        .with_text(Text::TicketNo, "JN2025000001")
        .with_text(Text::Channel, "电话")
        .with_text(Text::Content, "楼道漏水");
        assert_eq!(t.ticket_no(), "JN2025000001");
        assert_eq!(t.text(Text::Content), "楼道漏水");
        assert_eq!(t.text(Text::Community), "");
        // Python's `xxhash.xxh3_128_hexdigest` over the same bytes (the texts' lengths, the
        // other fields, the texts) gives the same digest.
        assert_eq!(t.source_hash(), XXH3);
        // A ticket stored by the first releases keeps its digest while its row does not
        // change (Python's hashlib: the first eight bytes of the SHA-256 of the same bytes),
        // and takes the current one when it does.
        assert_eq!(t.digest_like("6bc1439fc27f43a1"), "6bc1439fc27f43a1");
        assert_eq!(t.digest_like("0000000000000000"), XXH3);
        assert_eq!(t.digest_like(XXH3), XXH3);
        let moved = t
            .clone()
            .with_text(Text::Content, "")
            .with_text(Text::Community, "楼道漏水");
        assert_ne!(moved.source_hash(), t.source_hash(), "a field's text moved");
        let unanswered = Ticket {
            forwarded_at: None,
            responded_at: Some(1_735_003_600),
            ..t.clone()
        };
        assert_ne!(unanswered.source_hash(), t.source_hash(), "a time moved");
        // What the import derives is not the source's: classifying again changes nothing.
        let classified = Ticket {
            category: "quality",
            ..t.clone()
        };
        assert_eq!(classified.source_hash(), t.source_hash());
    }

    #[test]
    fn deadline_spans_are_bounded() {
        // Wednesday 15 November 2023, 06:13 in Beijing: three working days end on Monday.
        let from = Some(1_700_000_000);
        assert_eq!(
            deadline("3个工作日", from),
            Ok(Some(1_700_000_000 + 5 * DAY))
        );
        assert_eq!(deadline("3天", from), Ok(Some(1_700_000_000 + 3 * DAY)));
        // Forwarded 30 September 2025 10:00 Beijing: 1–8 October off, Saturday 11th worked.
        let sep30 = epoch("2025-09-30 10:00:00");
        assert_eq!(
            deadline("3个工作日", sep30),
            Ok(epoch("2025-10-11 10:00:00"))
        );
        let err = deadline("3个工作日", epoch("2020-01-01 10:00:00")).unwrap_err();
        assert!(err.contains("2020年"), "{err}");
        let err = deadline("99999999999999999天", from).unwrap_err();
        assert!(err.contains("办理时限"), "{err}");
        assert!(deadline("3651天", from).is_err());
        assert!(deadline("-1天", from).is_err());
        assert_eq!(deadline("3天", None), Ok(None));
        assert!(deadline("3650天", Some(i64::MAX - 10)).is_err());
    }

    mod props {
        use proptest::prelude::*;

        use super::super::{parse_row, Columns};
        use crate::hotline::profile::{self, Profile};
        use crate::tabular::RawRow;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Whatever a row holds, parsing answers a ticket or a reason, never a panic.
            #[test]
            fn parse_row_never_panics(cells in prop::collection::vec(".{0,24}|[0-9 :/-]{0,20}|[0-9]{1,25}天", 0..18)) {
                let head = RawRow {
                    line: 1,
                    cells: "工单编号,受理时间,来源渠道,所属区县,小区名称,涉及企业,统一社会信用代码,诉求类别,诉求内容,转办时间,办理时限,企业答复时间,办结时间,满意度,是否回访,回访时间,是否群体诉求"
                        .split(',')
                        .map(String::from)
                        .collect(),
                };
                let profiles = Profile::all(None).unwrap();
                let (_, _, header) = profile::choose(&profiles, std::slice::from_ref(&head)).unwrap();
                let _ = parse_row(&Columns::new(&header), &RawRow { line: 2, cells: cells.into() });
            }
        }
    }
}
