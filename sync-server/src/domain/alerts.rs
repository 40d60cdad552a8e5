//! The second intake: a department's warning list (部门预警) matched into the same procedure as
//! residents' declarations.
//!
//! A list arrives as a file (an Excel workbook, or CSV in UTF-8 or GBK, what Excel in China
//! writes). Every line is
//! checked ([`yijian_core::support::check_line`]), matched by ID number against every member of
//! every household in the sender's scope (the `member_ids` index the record store keeps), judged
//! by the department's rule (data an administrator edits, see [`RULES_KEY`]), and ends as one
//! outcome: a lead case (source 部门预警) in the village's queue with its clock and texts to the
//! village and township grid workers, evidence added to the household's open case, a duplicate,
//! below the threshold, unmatched (not in the register), or rejected with every reason.
//!
//! Lines are handled in chunks, each chunk one transaction; every line is stored under a key
//! unique per department (`<batch>:<line>`, the batch named by the file's hash), so a run
//! interrupted halfway is completed by running the same file again, without a line counted
//! twice.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use yijian_core::case::{Applicant, Case, CaseEventKind, CaseSource, Declaration};
use yijian_core::division::{DivisionCode, Level};
use yijian_core::household::{Household, MonitoringStatus};
use yijian_core::ids::CaseId;
use yijian_core::policy::{Policy, Population};
use yijian_core::protocol::kinds;
use yijian_core::support::{
    AlertLine, AlertRules, BASE_HEADERS, DepartmentRules, RawAlertLine, check_line, is_warning,
};
use yijian_core::validation::mask_name;

use crate::domain::apply::{ApplySettings, receipt_number};
use crate::domain::cases::{CaseWrite, save_case};
use crate::domain::procedure::Procedure;
use crate::domain::resident::{server_hlc, tell_village_and_township, village_name};
use crate::store::rows::{AlertBatchRow, AlertOutcome, AlertRowRecord, CaseQuery};
use crate::store::tx::{AuditEntry, RecordTx};
use crate::store::{Storage, StorageError, read, write};

/// Key of `settings` holding the rules an administrator set (else the built-in ones).
pub const RULES_KEY: &str = "alert_rules";

/// Lines per transaction.
const CHUNK: usize = 500;

/// The most lines one file may have.
pub const MAX_LINES: usize = 200_000;

/// The rules in force, read inside a transaction. Stored rules that no longer fit the policy
/// (a department removed) are logged and the built-in ones used.
pub fn load_rules(tx: &mut dyn RecordTx, policy: &Policy) -> Result<AlertRules, StorageError> {
    if let Some(text) = tx.setting(RULES_KEY)? {
        match AlertRules::from_json(&text, policy) {
            Ok(r) => return Ok(r),
            Err(e) => {
                tracing::error!(error = %e, "stored alert rules unreadable; using the built-in ones")
            }
        }
    }
    Ok(AlertRules::gansu())
}

/// Why a file was not taken at all (its lines are never half-stored for these).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("没有“{0}”这个部门（部门名单见政策参数）")]
    UnknownDepartment(String),
    #[error("部门“{0}”还没有预警规则，请先在“预警规则”中设置")]
    NoRules(String),
    #[error("文件不是有效的CSV：{0}")]
    Malformed(String),
    #[error("文件编码无法识别（应为UTF-8或GBK）")]
    Encoding,
    #[error("表头缺少“{0}”列（模板表头：{1}）")]
    MissingHeader(String, String),
    #[error("文件没有数据行")]
    Empty,
    #[error("文件有{0}行，超过每批{MAX_LINES}行的上限，请分批导入")]
    TooLong(usize),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a batch came to (the command's and the API's JSON answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub rows: i64,
    pub matched: i64,
    pub leads_created: i64,
    pub attached_to_open_cases: i64,
    pub duplicates: i64,
    pub below_threshold: i64,
    pub unmatched: i64,
    pub rejected: i64,
    pub batch: String,
}

impl Summary {
    fn count(&mut self, row: &AlertRowRecord) {
        let o = row.outcome;
        self.rows += 1;
        // A line repeated within the file counts as matched only if its person is in the register.
        if o.matched() && (o != AlertOutcome::Duplicate || row.household_id.is_some()) {
            self.matched += 1;
        }
        match o {
            AlertOutcome::LeadCreated => self.leads_created += 1,
            AlertOutcome::Attached => self.attached_to_open_cases += 1,
            AlertOutcome::Duplicate => self.duplicates += 1,
            AlertOutcome::BelowThreshold => self.below_threshold += 1,
            AlertOutcome::Unmatched => self.unmatched += 1,
            AlertOutcome::Rejected => self.rejected += 1,
        }
    }

    fn counts(&self) -> BTreeMap<String, i64> {
        [
            (AlertOutcome::LeadCreated, self.leads_created),
            (AlertOutcome::Attached, self.attached_to_open_cases),
            (AlertOutcome::Duplicate, self.duplicates),
            (AlertOutcome::BelowThreshold, self.below_threshold),
            (AlertOutcome::Unmatched, self.unmatched),
            (AlertOutcome::Rejected, self.rejected),
        ]
        .into_iter()
        .map(|(o, n)| (o.as_str().to_owned(), n))
        .collect()
    }
}

/// A rejected or unmatched line for the sender's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    pub line: i64,
    pub outcome: AlertOutcome,
    pub reason_zh: String,
}

/// The result of an import: the summary and the lines the sender must look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub summary: Summary,
    pub report: Vec<ReportLine>,
}

/// Who sends a batch and against which part of the register it is matched.
#[derive(Debug, Clone)]
pub struct Sender {
    pub department: String,
    pub scope: DivisionCode,
    /// `console`, `cli` or `api`.
    pub channel: &'static str,
    pub by: String,
}

/// The department of a code or a name (`医保`, `medical_security`).
pub fn department_of(name_or_code: &str, policy: &Policy) -> Option<String> {
    let t = name_or_code.trim();
    policy
        .departments
        .iter()
        .find(|d| d.code == t || d.name_zh == t)
        .map(|d| d.code.clone())
}

/// The file's text: UTF-8 (with or without the BOM Excel writes), else GBK.
pub fn decode(bytes: &[u8]) -> Result<String, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let (text, _, had_errors) = encoding_rs::GBK.decode(bytes);
    if had_errors {
        return Err(ImportError::Encoding);
    }
    Ok(text.into_owned())
}

/// The lines of a file as a department sends it: an Excel workbook (`.xlsx`, or the older `.xls`,
/// first sheet) or a CSV in UTF-8 or GBK, told apart by content rather than by name.
pub fn parse_file(
    bytes: &[u8],
    rules: &DepartmentRules,
) -> Result<Vec<(i64, RawAlertLine)>, ImportError> {
    if is_workbook(bytes) {
        parse_workbook(bytes, rules)
    } else {
        parse_csv(&decode(bytes)?, rules)
    }
}

/// A zip (xlsx, ods) or an OLE compound file (xls).
pub(crate) fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
}

/// The lines of a CSV file under the department's template header: (line number, columns).
pub fn parse_csv(
    text: &str,
    rules: &DepartmentRules,
) -> Result<Vec<(i64, RawAlertLine)>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::Malformed(e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader.records().enumerate().map(|(i, record)| {
        let record = record.map_err(|e| ImportError::Malformed(e.to_string()))?;
        // Line 1 is the header.
        let line = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(2);
        Ok((line, record.iter().map(str::to_owned).collect()))
    });
    lines_under(&headers, records, rules)
}

/// The lines of the first sheet of a workbook. Cells are read as Excel shows them: whole numbers
/// without ".0", dates as `yyyy-mm-dd` (a date typed as a number stays a serial day, which
/// [`yijian_core::support::check_line`] also reads), so
/// a file typed in Excel and one exported by a department's system come out alike.
pub fn parse_workbook(
    bytes: &[u8],
    rules: &DepartmentRules,
) -> Result<Vec<(i64, RawAlertLine)>, ImportError> {
    use calamine::Reader;
    let unreadable = |e: &dyn std::fmt::Display| {
        ImportError::Malformed(format!("Excel文件无法读取（{e}），请另存为xlsx或csv后再试"))
    };
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| unreadable(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(ImportError::Empty)?
        .map_err(|e| unreadable(&e))?;
    let first_row = i64::from(range.start().map_or(0, |(r, _)| r));
    let width = range.width();
    let mut rows = range.rows().enumerate().map(|(i, row)| {
        let line = first_row
            .saturating_add(i64::try_from(i).unwrap_or(i64::MAX))
            .saturating_add(1);
        let mut cells: Vec<String> = row.iter().map(cell_text).collect();
        cells.resize(width, String::new());
        (line, cells)
    });
    // Title rows above the header (a department's name, a date) are skipped.
    let header_name = normalise_header(BASE_HEADERS[0]);
    let headers = loop {
        let Some((_, cells)) = rows.next() else {
            return Err(ImportError::MissingHeader(
                BASE_HEADERS[0].to_owned(),
                rules.headers().join(","),
            ));
        };
        if cells.iter().any(|c| normalise_header(c) == header_name) {
            break cells;
        }
    };
    lines_under(&headers, rows.map(Ok), rules)
}

/// A cell's text as a person reads it in Excel.
pub(crate) fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(d) => {
            // The day alone counts; calamine knows the workbook's epoch (1900 or 1904).
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
    }
}

/// Whole numbers without a fraction; others as Rust prints them (shortest exact form).
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// Rows under a header row, as lines of the department's template.
fn lines_under(
    headers: &[String],
    records: impl Iterator<Item = Result<(i64, Vec<String>), ImportError>>,
    rules: &DepartmentRules,
) -> Result<Vec<(i64, RawAlertLine)>, ImportError> {
    let headers: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    let template = rules.headers().join(",");
    let col = |name: &str| headers.iter().position(|h| *h == normalise_header(name));
    let mut base = Vec::new();
    for h in BASE_HEADERS {
        base.push(
            col(h).ok_or_else(|| ImportError::MissingHeader(h.to_owned(), template.clone()))?,
        );
    }
    let extras: Vec<(String, Option<usize>)> = rules
        .extra_columns
        .iter()
        .map(|c| (c.clone(), col(c)))
        .collect();
    let mut out = Vec::new();
    for record in records {
        let (line, record) = record?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if out.len() >= MAX_LINES {
            return Err(ImportError::TooLong(out.len() + 1));
        }
        let get = |j: usize| record.get(j).cloned().unwrap_or_default();
        out.push((
            line,
            RawAlertLine {
                id_number: get(base[0]),
                name: get(base[1]),
                matter: get(base[2]),
                amount: get(base[3]),
                occurred_on: get(base[4]),
                note: get(base[5]),
                extras: extras
                    .iter()
                    .filter_map(|(name, j)| j.map(|j| (name.clone(), get(j))))
                    .collect(),
            },
        ));
    }
    if out.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(out)
}

/// Headers compared without spaces and with ASCII and full-width brackets alike.
fn normalise_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .replace('(', "（")
        .replace(')', "）")
        .replace([' ', '\u{3000}'], "")
}

/// The template file of a department (UTF-8 with a BOM, so Excel opens it in Chinese).
pub fn template_csv(rules: &DepartmentRules) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend_from_slice(rules.headers().join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// Import a file of `sender`'s department (see the module docs).
pub async fn import_file(
    storage: &dyn Storage,
    sender: &Sender,
    file_name: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Imported, ImportError> {
    let procedure = Procedure::current(storage).await?;
    let policy = std::sync::Arc::clone(&procedure.policy);
    let rules = read(storage, move |tx| load_rules(tx, &policy)).await?;
    let Some(dept_rules) = rules.department(&sender.department).cloned() else {
        return Err(ImportError::NoRules(
            procedure
                .policy
                .department_name(&sender.department)
                .to_owned(),
        ));
    };
    let lines = parse_file(bytes, &dept_rules)?;
    let batch_id = file_batch_id(sender, bytes);
    let keyed = keyed_lines(&batch_id, lines);
    import_lines(
        storage, sender, &batch_id, file_name, keyed, &rules, &procedure, now,
    )
    .await
}

/// A file's batch: the same file from the same department and scope is the same batch, so
/// sending it again completes it instead of counting it twice.
pub fn file_batch_id(sender: &Sender, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(sender.department.as_bytes());
    h.update(b"\n");
    h.update(sender.scope.as_str().as_bytes());
    h.update(b"\n");
    h.update(bytes);
    hex::encode(&h.finalize()[..12])
}

/// A file's lines keyed `<batch>:<line>`.
pub fn keyed_lines(
    batch_id: &str,
    lines: Vec<(i64, RawAlertLine)>,
) -> Vec<(String, i64, RawAlertLine)> {
    lines
        .into_iter()
        .map(|(n, l)| (format!("{batch_id}:{n}"), n, l))
        .collect()
}

/// Handle keyed lines (row key, line number, columns) as one batch.
#[allow(clippy::too_many_arguments)]
pub async fn import_lines(
    storage: &dyn Storage,
    sender: &Sender,
    batch_id: &str,
    file_name: &str,
    lines: Vec<(String, i64, RawAlertLine)>,
    rules: &AlertRules,
    procedure: &Procedure,
    now: DateTime<Utc>,
) -> Result<Imported, ImportError> {
    let settings = ApplySettings::with(now, procedure);
    let mut batch = {
        let id = batch_id.to_owned();
        read(storage, move |tx| tx.alert_batch(&id)).await?
    }
    .unwrap_or(AlertBatchRow {
        id: batch_id.to_owned(),
        department: sender.department.clone(),
        scope: sender.scope.to_string(),
        channel: sender.channel.to_owned(),
        file_name: file_name.to_owned(),
        received_at: now,
        by: sender.by.clone(),
        rows: i64::try_from(lines.len()).unwrap_or(i64::MAX),
        counts: BTreeMap::new(),
        completed_at: None,
    });
    {
        let b = batch.clone();
        write(storage, move |tx| tx.put_alert_batch(&b)).await?;
    }
    let mut summary = Summary {
        batch: batch_id.to_owned(),
        ..Summary::default()
    };
    let mut report = Vec::new();
    // Lines already stored (a run resumed) count for "the same line twice in one file".
    let mut seen = {
        let id = batch_id.to_owned();
        std::sync::Arc::new(read(storage, move |tx| tx.batch_fingerprints(&id)).await?)
    };
    for chunk in lines.chunks(CHUNK) {
        let chunk = chunk.to_vec();
        let ctx = LineCtx {
            sender: sender.clone(),
            batch_id: batch_id.to_owned(),
            rules: rules.clone(),
            settings: settings.clone(),
        };
        let seen_before = std::sync::Arc::clone(&seen);
        let (rows, fingerprints) = write(storage, move |tx| {
            ctx.handle_chunk(tx, &chunk, &seen_before)
        })
        .await?;
        std::sync::Arc::make_mut(&mut seen).extend(fingerprints);
        for row in rows {
            summary.count(&row);
            if matches!(
                row.outcome,
                AlertOutcome::Rejected | AlertOutcome::Unmatched
            ) {
                report.push(ReportLine {
                    line: row.line,
                    outcome: row.outcome,
                    reason_zh: row.reason_zh,
                });
            }
        }
    }
    batch.counts = summary.counts();
    batch.rows = summary.rows;
    batch.completed_at = Some(now);
    write(storage, move |tx| tx.put_alert_batch(&batch)).await?;
    Ok(Imported { summary, report })
}

struct LineCtx {
    sender: Sender,
    batch_id: String,
    rules: AlertRules,
    settings: ApplySettings,
}

impl LineCtx {
    /// One chunk in one transaction: what the chunk needs from the register is read in a few
    /// statements, then each line is decided in order. Returns the lines and the fingerprints
    /// this chunk added.
    fn handle_chunk(
        &self,
        tx: &mut dyn RecordTx,
        chunk: &[(String, i64, RawAlertLine)],
        seen: &HashSet<String>,
    ) -> Result<(Vec<AlertRowRecord>, Vec<String>), StorageError> {
        let department = &self.sender.department;
        let keys: Vec<String> = chunk.iter().map(|(k, _, _)| k.clone()).collect();
        let mut done = tx.alert_rows_among(department, &keys)?;
        let dept_rules = self.rules.department(department);
        let checked: Vec<Option<Result<AlertLine, Vec<String>>>> = chunk
            .iter()
            .map(|(key, _, raw)| {
                (!done.contains_key(key))
                    .then(|| dept_rules.map(|r| check_line(r, raw, self.settings.today)))
                    .flatten()
            })
            .collect();
        let id_numbers: Vec<String> = checked
            .iter()
            .filter_map(|c| match c {
                Some(Ok(line)) => Some(line.id_number.as_str().to_owned()),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let members = tx.households_with_members(&id_numbers)?;
        let in_scope = |found: &Vec<(String, String)>| {
            found
                .iter()
                .find(|(_, village)| {
                    DivisionCode::parse(village).is_ok_and(|v| v.is_within(&self.sender.scope))
                })
                .cloned()
        };
        let household_ids: Vec<String> = members
            .values()
            .filter_map(in_scope)
            .map(|(h, _)| h)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let households = tx.record_bodies(kinds::HOUSEHOLD, &household_ids)?;
        let mut added = HashSet::new();
        let mut rows = Vec::with_capacity(chunk.len());
        for ((key, n, raw), checked) in chunk.iter().zip(checked) {
            if let Some(row) = done.remove(key) {
                rows.push(row);
                continue;
            }
            let mut row = AlertRowRecord {
                department: department.clone(),
                row_key: key.to_owned(),
                batch_id: self.batch_id.clone(),
                line: *n,
                id_number: None,
                matter: None,
                occurred_on: None,
                fingerprint: None,
                outcome: AlertOutcome::Rejected,
                reason_zh: String::new(),
                village: None,
                household_id: None,
                case_id: None,
                raw: raw.clone(),
                received_at: self.settings.now,
            };
            match (dept_rules, checked) {
                (None, _) | (_, None) => row.reason_zh = "本部门没有预警规则".to_owned(),
                (Some(_), Some(Err(problems))) => row.reason_zh = problems.join("；"),
                (Some(dept_rules), Some(Ok(line))) => {
                    row.id_number = Some(line.id_number.as_str().to_owned());
                    row.matter = Some(line.matter.clone());
                    row.occurred_on = Some(line.occurred_on);
                    let fingerprint = fingerprint(&line);
                    row.fingerprint = Some(fingerprint.clone());
                    let found = members.get(line.id_number.as_str()).and_then(in_scope);
                    let household = found
                        .as_ref()
                        .and_then(|(h, _)| households.get(h))
                        .map(|b| serde_json::from_str::<Household>(b))
                        .transpose()?;
                    let repeated = seen.contains(&fingerprint) || added.contains(&fingerprint);
                    let (outcome, reason) = self.decide(
                        tx,
                        dept_rules,
                        &line,
                        (found, household),
                        repeated,
                        &mut row,
                    )?;
                    row.outcome = outcome;
                    row.reason_zh = reason;
                    added.insert(fingerprint);
                }
            }
            tx.insert_alert_row(&row)?;
            rows.push(row);
        }
        Ok((rows, added.into_iter().collect()))
    }

    fn decide(
        &self,
        tx: &mut dyn RecordTx,
        dept_rules: &DepartmentRules,
        line: &AlertLine,
        (found, household): (Option<(String, String)>, Option<Household>),
        repeated: bool,
        row: &mut AlertRowRecord,
    ) -> Result<(AlertOutcome, String), StorageError> {
        if let Some((household_id, village)) = &found {
            row.village = Some(village.clone());
            row.household_id = Some(household_id.clone());
        }
        if repeated {
            return Ok((
                AlertOutcome::Duplicate,
                "与本批次前面的一行完全相同".to_owned(),
            ));
        }
        let Some((household_id, village)) = found else {
            return Ok((
                AlertOutcome::Unmatched,
                format!(
                    "{}（{}）不在{}的农户档案中，请乡镇核实是否需要入户核查",
                    mask_name(&line.name),
                    line.id_number.masked(),
                    crate::web::console::scope_path(&self.sender.scope)
                ),
            ));
        };
        let Some(household) = household else {
            return Ok((AlertOutcome::Unmatched, "农户档案已删除".to_owned()));
        };
        let population = if household.formerly_poor {
            Population::FormerlyPoor
        } else if matches!(household.monitoring, MonitoringStatus::Monitoring { .. }) {
            Population::Monitored
        } else {
            Population::Other
        };
        let Some(rule) = dept_rules.matter(&line.matter) else {
            return Ok((AlertOutcome::Rejected, "预警事项不在规则中".to_owned()));
        };
        let policy = &self.settings.policy;
        if !is_warning(rule, line, policy, population) {
            return Ok((
                AlertOutcome::BelowThreshold,
                format!("按{}的标准未达到预警条件", population.name_zh()),
            ));
        }
        let window = chrono::Days::new(u64::from(self.rules.duplicate_window_days));
        let from = line
            .occurred_on
            .checked_sub_days(window)
            .unwrap_or(NaiveDate::MIN);
        let to = line
            .occurred_on
            .checked_add_days(window)
            .unwrap_or(NaiveDate::MAX);
        if tx.warning_taken_up(
            &self.sender.department,
            line.id_number.as_str(),
            &line.matter,
            from,
            to,
        )? {
            return Ok((
                AlertOutcome::Duplicate,
                format!(
                    "{}天内已处理过同一人的同一预警",
                    self.rules.duplicate_window_days
                ),
            ));
        }
        let dept_name = policy.department_name(&self.sender.department).to_owned();
        let facts = line.facts_zh(&dept_name);
        let village_code = DivisionCode::parse(&village)
            .map_err(|e| StorageError::Corrupt(format!("household village: {e}")))?;
        let open = tx
            .case_rows(&CaseQuery {
                scope: village.clone(),
                open_only: true,
                due_by: None,
                limit: None,
            })?
            .into_iter()
            .find(|c| c.household_id.as_deref() == Some(household_id.as_str()));
        let hlc = server_hlc(self.settings.now);
        if let Some(open) = open {
            let Some(body) = tx.get(kinds::CASE, &open.case_id)?.and_then(|r| r.body) else {
                return Err(StorageError::Corrupt(format!(
                    "indexed case {} has no record",
                    open.case_id
                )));
            };
            let mut case: Case = serde_json::from_str(&body)?;
            save_case(
                tx,
                &mut case,
                &self.case_write(&village_code, hlc, (dept_name.clone(), facts.clone())),
            )?;
            self.audit(tx, "alert_attached", &open.case_id, &village, row)?;
            row.case_id = Some(open.case_id.clone());
            return Ok((
                AlertOutcome::Attached,
                "该户已有在办案件，预警已作为证据并入".to_owned(),
            ));
        }
        let head = household.head_member();
        let applicant = Applicant {
            name: head.map_or_else(|| line.name.clone(), |m| m.name.clone()),
            id_number: head.and_then(|m| m.id_number.as_ref()).map_or_else(
                || line.id_number.as_str().to_owned(),
                |n| n.as_str().to_owned(),
            ),
            phone: household.phone.as_ref().map(|p| p.as_str().to_owned()),
            address: household.address.clone(),
            household_size: u32::try_from(household.members.len()).ok(),
        };
        let case_id = open_lead(
            tx,
            &self.settings,
            Lead {
                village: &village_code,
                household_id: Some(household.id),
                applicant,
                risk: rule.risk_type,
                department_name: &dept_name,
                facts,
            },
        )?;
        self.audit(tx, "alert_lead", &case_id, &village, row)?;
        row.case_id = Some(case_id);
        Ok((
            AlertOutcome::LeadCreated,
            "已生成线索，进入村级待办".to_owned(),
        ))
    }

    fn case_write<'a>(
        &'a self,
        village: &'a DivisionCode,
        hlc: yijian_core::hlc::Hlc,
        by_and_facts: (String, String),
    ) -> CaseWrite<'a> {
        case_write(&self.settings, village, hlc, by_and_facts)
    }

    fn audit(
        &self,
        tx: &mut dyn RecordTx,
        action: &str,
        case_id: &str,
        village: &str,
        row: &AlertRowRecord,
    ) -> Result<(), StorageError> {
        tx.audit(&AuditEntry {
            at: self.settings.now,
            user_id: None,
            device_id: None,
            command_id: None,
            action: action.to_owned(),
            kind: kinds::CASE.to_owned(),
            record_id: case_id.to_owned(),
            village: village.to_owned(),
            detail: serde_json::json!({
                "department": row.department,
                "batch": row.batch_id,
                "line": row.line,
                "by": self.sender.by,
                "channel": self.sender.channel,
            })
            .to_string(),
        })
    }
}

fn case_write<'a>(
    settings: &'a ApplySettings,
    village: &'a DivisionCode,
    hlc: yijian_core::hlc::Hlc,
    (by, facts): (String, String),
) -> CaseWrite<'a> {
    CaseWrite {
        village,
        hlc,
        now: settings.now,
        today: settings.today,
        rules: &settings.rules,
        calendar: &settings.calendar,
        event: Some((CaseEventKind::DepartmentWarning, Some(by), Some(facts))),
        work_done_on: None,
    }
}

/// A new lead case from a warning.
struct Lead<'a> {
    village: &'a DivisionCode,
    household_id: Option<yijian_core::ids::HouseholdId>,
    applicant: Applicant,
    risk: yijian_core::case::RiskType,
    department_name: &'a str,
    facts: String,
}

/// Open a lead (source 部门预警) in the village's queue with its clock and a text to the
/// village's and the township's grid workers. Returns the case id.
fn open_lead(
    tx: &mut dyn RecordTx,
    settings: &ApplySettings,
    lead: Lead<'_>,
) -> Result<String, StorageError> {
    let village = lead.village;
    let dept_name = lead.department_name;
    let mut case = Case::declared(Declaration {
        case_id: CaseId::new(),
        household_id: lead.household_id,
        village: village.clone(),
        source: CaseSource::DepartmentAlert,
        risk_types: vec![lead.risk],
        description: lead.facts.clone(),
        applicant: lead.applicant,
        proxy: None,
        declared_at: settings.now,
    });
    let receipt = receipt_number(village, tx.next_receipt(village.as_str())?);
    case.receipt_no = Some(receipt.clone());
    let case_id = case.id().to_string();
    let mut write = case_write(
        settings,
        village,
        server_hlc(settings.now),
        (dept_name.to_owned(), lead.facts),
    );
    write.event = Some((
        CaseEventKind::Declared,
        Some(format!("{dept_name}（部门预警）")),
        None,
    ));
    save_case(tx, &mut case, &write)?;
    let name = mask_name(&case.declaration.applicant.name);
    let place = village_name(village);
    let source = format!("{dept_name}部门预警");
    let risks = lead.risk.name_zh();
    let due = yijian_core::clocks::running_clocks(
        &case.state,
        &crate::domain::cases::clock_facts(tx, &case)?,
        &settings.rules,
        &settings.calendar,
    )
    .into_iter()
    .find(|c| c.step == yijian_core::deadline::Step::HomeVerification)
    .map(|c| crate::domain::resident::date_zh(c.due_on))
    .unwrap_or_default();
    let params = [
        ("village", place.as_str()),
        ("name", name.as_str()),
        ("source", source.as_str()),
        ("risks", risks),
        ("receipt", receipt.as_str()),
        ("due", due.as_str()),
    ];
    tell_village_and_township(tx, village, &params, &case_id, settings.now)?;
    Ok(case_id)
}

/// The staff member turning a line into a lead.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user_id: String,
    /// As shown in the case's history (the login).
    pub name: String,
    pub scope: DivisionCode,
}

/// Why an unmatched line could not become a lead.
#[derive(Debug, thiserror::Error)]
pub enum UnmatchedLeadError {
    #[error("没有找到这一行")]
    NotFound,
    #[error("这一行不是“未匹配到农户”的行")]
    NotUnmatched,
    #[error("这一行已经转为线索")]
    AlreadyLead(String),
    #[error("所选的村不在您的管辖范围内")]
    OutOfScope,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The township's answer to a warning about someone not in the register: a lead in `village`
/// for a household to be found and registered at the home visit (no household yet). The line
/// keeps its outcome (the batch's figures do not change) and names the case.
pub async fn lead_from_unmatched(
    storage: &dyn Storage,
    department: &str,
    row_key: &str,
    village: &DivisionCode,
    by: &Staff,
    now: DateTime<Utc>,
) -> Result<String, UnmatchedLeadError> {
    if village.level() != Level::Village || !village.is_within(&by.scope) {
        return Err(UnmatchedLeadError::OutOfScope);
    }
    let procedure = Procedure::current(storage).await?;
    let settings = ApplySettings::with(now, &procedure);
    let rules = procedure.alert_rules.clone();
    let (department, row_key, village, by) = (
        department.to_owned(),
        row_key.to_owned(),
        village.clone(),
        by.clone(),
    );
    write(storage, move |tx| {
        let Some(mut row) = tx.alert_row(&department, &row_key)? else {
            return Ok(Err(UnmatchedLeadError::NotFound));
        };
        if row.outcome != AlertOutcome::Unmatched {
            return Ok(Err(UnmatchedLeadError::NotUnmatched));
        }
        if let Some(case_id) = row.case_id.clone() {
            return Ok(Err(UnmatchedLeadError::AlreadyLead(case_id)));
        }
        let dept_name = settings.policy.department_name(&department).to_owned();
        let dept_rules = rules.department(&department);
        let line = dept_rules.and_then(|r| check_line(r, &row.raw, settings.today).ok());
        let risk = dept_rules
            .and_then(|r| r.matter(&row.raw.matter))
            .map_or(yijian_core::case::RiskType::Other, |m| m.risk_type);
        let facts = line.as_ref().map_or_else(
            || format!("{dept_name}预警：{}", row.raw.matter),
            |l| l.facts_zh(&dept_name),
        );
        let applicant = Applicant {
            name: row.raw.name.trim().to_owned(),
            id_number: row
                .id_number
                .clone()
                .unwrap_or_else(|| row.raw.id_number.trim().to_owned()),
            phone: None,
            address: String::new(),
            household_size: None,
        };
        let case_id = open_lead(
            tx,
            &settings,
            Lead {
                village: &village,
                household_id: None,
                applicant,
                risk,
                department_name: &dept_name,
                facts: format!(
                    "{facts}；不在农户档案中，由{}转为线索，入户核查时建档",
                    by.name
                ),
            },
        )?;
        tx.audit(&AuditEntry {
            at: settings.now,
            user_id: Some(by.user_id.clone()),
            device_id: None,
            command_id: None,
            action: "alert_unmatched_lead".to_owned(),
            kind: kinds::CASE.to_owned(),
            record_id: case_id.clone(),
            village: village.to_string(),
            detail: serde_json::json!({
                "department": row.department,
                "batch": row.batch_id,
                "line": row.line,
            })
            .to_string(),
        })?;
        row.case_id = Some(case_id.clone());
        row.village = Some(village.to_string());
        row.reason_zh = format!("{}（已由{}转为线索）", row.reason_zh, by.name);
        tx.update_alert_row(&row)?;
        Ok(Ok(case_id))
    })
    .await?
}

/// What a line says, hashed: the same line twice in one file is a duplicate.
fn fingerprint(line: &AlertLine) -> String {
    let mut h = Sha256::new();
    h.update(line.id_number.as_str());
    h.update(b"\x1f");
    h.update(line.matter.as_bytes());
    h.update(b"\x1f");
    h.update(line.occurred_on.to_string());
    h.update(b"\x1f");
    h.update(line.amount_fen.unwrap_or(-1).to_string());
    for (k, v) in &line.extras {
        h.update(b"\x1f");
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// The Chinese report of the lines a sender must look at, one per line.
pub fn report_zh(report: &[ReportLine]) -> String {
    report
        .iter()
        .map(|r| format!("第{}行 {}：{}", r.line, r.outcome.name_zh(), r.reason_zh))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Issue an API key for a department's system: the key is shown once; only its hash is kept.
pub async fn issue_key(
    storage: &dyn Storage,
    department: &str,
    scope: &DivisionCode,
    label: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(crate::store::rows::DepartmentKey, String), StorageError> {
    let (token, hash) = crate::domain::accounts::new_device_token()
        .map_err(|e| StorageError::Task(format!("no randomness: {e}")))?;
    let key = crate::store::rows::DepartmentKey {
        id: uuid::Uuid::now_v7().to_string(),
        department: department.to_owned(),
        scope: scope.to_string(),
        label: label.trim().to_owned(),
        key_hash: hash,
        created_at: now,
        created_by: by.to_owned(),
        revoked_at: None,
    };
    let k = key.clone();
    write(storage, move |tx| tx.put_department_key(&k)).await?;
    Ok((key, format!("yjdk_{token}")))
}

/// The live key a presented secret belongs to.
pub async fn key_of(
    storage: &dyn Storage,
    secret: &str,
) -> Result<Option<crate::store::rows::DepartmentKey>, StorageError> {
    let Some(token) = secret.trim().strip_prefix("yjdk_") else {
        return Ok(None);
    };
    let hash = crate::domain::accounts::token_hash(token);
    Ok(read(storage, move |tx| tx.department_key_by_hash(&hash))
        .await?
        .filter(|k| k.revoked_at.is_none()))
}
