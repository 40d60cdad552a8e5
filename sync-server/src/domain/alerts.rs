//! The second intake: a department's warning list (部门预警) matched into the same procedure as
//! residents' declarations.
//!
//! A list arrives as a file (CSV in UTF-8 or GBK, what Excel in China writes). Every line is
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

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use yijian_core::case::{Applicant, Case, CaseEventKind, CaseSource, Declaration};
use yijian_core::division::{DivisionCode, Level};
use yijian_core::household::{Household, MonitoringStatus};
use yijian_core::ids::CaseId;
use yijian_core::policy::{Policy, Population};
use yijian_core::protocol::kinds;
use yijian_core::role::Role;
use yijian_core::support::{
    AlertLine, AlertRules, BASE_HEADERS, DepartmentRules, RawAlertLine, check_line, is_warning,
};
use yijian_core::validation::mask_name;

use crate::domain::apply::{ApplySettings, receipt_number};
use crate::domain::cases::{CaseWrite, save_case};
use crate::domain::procedure::Procedure;
use crate::domain::resident::{server_hlc, tell_staff, village_name};
use crate::sms::Template;
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
    fn count(&mut self, o: AlertOutcome) {
        self.rows += 1;
        if o.matched() {
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
        .map(normalise_header)
        .collect();
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
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ImportError::Malformed(e.to_string()))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if out.len() >= MAX_LINES {
            return Err(ImportError::TooLong(out.len() + 1));
        }
        let get = |j: usize| record.get(j).unwrap_or("").to_owned();
        let line = RawAlertLine {
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
        };
        // Line 1 is the header.
        out.push((i64::try_from(i).unwrap_or(i64::MAX).saturating_add(2), line));
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
    let text = decode(bytes)?;
    let lines = parse_csv(&text, &dept_rules)?;
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
    for chunk in lines.chunks(CHUNK) {
        let chunk = chunk.to_vec();
        let ctx = LineCtx {
            sender: sender.clone(),
            batch_id: batch_id.to_owned(),
            rules: rules.clone(),
            settings: settings.clone(),
        };
        let outcomes = write(storage, move |tx| {
            chunk
                .iter()
                .map(|(key, n, raw)| ctx.handle(tx, key, *n, raw))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
        for row in outcomes {
            summary.count(row.outcome);
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
    fn handle(
        &self,
        tx: &mut dyn RecordTx,
        key: &str,
        n: i64,
        raw: &RawAlertLine,
    ) -> Result<AlertRowRecord, StorageError> {
        let department = &self.sender.department;
        if let Some(done) = tx.alert_row(department, key)? {
            return Ok(done);
        }
        let mut row = AlertRowRecord {
            department: department.clone(),
            row_key: key.to_owned(),
            batch_id: self.batch_id.clone(),
            line: n,
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
        let Some(dept_rules) = self.rules.department(department) else {
            row.reason_zh = "本部门没有预警规则".to_owned();
            tx.insert_alert_row(&row)?;
            return Ok(row);
        };
        let line = match check_line(dept_rules, raw, self.settings.today) {
            Ok(l) => l,
            Err(problems) => {
                row.reason_zh = problems.join("；");
                tx.insert_alert_row(&row)?;
                return Ok(row);
            }
        };
        row.id_number = Some(line.id_number.as_str().to_owned());
        row.matter = Some(line.matter.clone());
        row.occurred_on = Some(line.occurred_on);
        let fingerprint = fingerprint(&line);
        row.fingerprint = Some(fingerprint.clone());
        let (outcome, reason) = self.decide(tx, dept_rules, &line, &fingerprint, &mut row)?;
        row.outcome = outcome;
        row.reason_zh = reason;
        tx.insert_alert_row(&row)?;
        Ok(row)
    }

    fn decide(
        &self,
        tx: &mut dyn RecordTx,
        dept_rules: &DepartmentRules,
        line: &AlertLine,
        fingerprint: &str,
        row: &mut AlertRowRecord,
    ) -> Result<(AlertOutcome, String), StorageError> {
        if tx.fingerprint_seen(&self.batch_id, fingerprint)? {
            return Ok((
                AlertOutcome::Duplicate,
                "与本批次前面的一行完全相同".to_owned(),
            ));
        }
        let found = tx
            .households_with_member(line.id_number.as_str())?
            .into_iter()
            .find(|(_, village)| {
                DivisionCode::parse(village).is_ok_and(|v| v.is_within(&self.sender.scope))
            });
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
        row.village = Some(village.clone());
        row.household_id = Some(household_id.clone());
        let Some(household) = tx
            .get(kinds::HOUSEHOLD, &household_id)?
            .and_then(|r| r.body)
            .map(|b| serde_json::from_str::<Household>(&b))
            .transpose()?
        else {
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
        let mut case = Case::declared(Declaration {
            case_id: CaseId::new(),
            household_id: Some(household.id),
            village: village_code.clone(),
            source: CaseSource::DepartmentAlert,
            risk_types: vec![rule.risk_type],
            description: facts.clone(),
            applicant,
            proxy: None,
            declared_at: self.settings.now,
        });
        let receipt = receipt_number(&village_code, tx.next_receipt(&village)?);
        case.receipt_no = Some(receipt.clone());
        let case_id = case.id().to_string();
        let mut write = self.case_write(&village_code, hlc, (dept_name.clone(), facts));
        write.event = Some((
            CaseEventKind::Declared,
            Some(format!("{dept_name}（部门预警）")),
            None,
        ));
        save_case(tx, &mut case, &write)?;
        self.audit(tx, "alert_lead", &case_id, &village, row)?;
        row.case_id = Some(case_id.clone());
        let name = mask_name(&case.declaration.applicant.name);
        let place = village_name(&village_code);
        let source = format!("{dept_name}部门预警");
        let risks = rule.risk_type.name_zh();
        let due = yijian_core::clocks::running_clocks(
            &case.state,
            &crate::domain::cases::clock_facts(tx, &case)?,
            &self.settings.rules,
            &self.settings.calendar,
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
        tell_staff(
            tx,
            Role::VillageWorker,
            &village_code,
            Template::NewDeclaration,
            &params,
            &case_id,
            "new",
            self.settings.now,
        )?;
        if let Some(township) = village_code.at_level(Level::Township) {
            tell_staff(
                tx,
                Role::Township,
                &township,
                Template::NewDeclaration,
                &params,
                &case_id,
                "new",
                self.settings.now,
            )?;
        }
        Ok((
            AlertOutcome::LeadCreated,
            "已生成线索，进入村级待办".to_owned(),
        ))
    }

    fn case_write<'a>(
        &'a self,
        village: &'a DivisionCode,
        hlc: yijian_core::hlc::Hlc,
        (by, facts): (String, String),
    ) -> CaseWrite<'a> {
        CaseWrite {
            village,
            hlc,
            now: self.settings.now,
            today: self.settings.today,
            rules: &self.settings.rules,
            calendar: &self.settings.calendar,
            event: Some((CaseEventKind::DepartmentWarning, Some(by), Some(facts))),
            work_done_on: None,
        }
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
