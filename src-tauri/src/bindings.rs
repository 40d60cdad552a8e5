//! The TypeScript declarations of everything that crosses the IPC, generated from the Rust
//! types (ts-rs) into `ui/src/bindings.ts`, which the screens import. A test regenerates the
//! file and fails on any difference, so a Rust type cannot change without the screens' types
//! (and `tsc`) seeing it. Write the file anew with `YIJIAN_WRITE_BINDINGS=1 cargo test -p
//! yijian-app bindings`.

use std::collections::BTreeMap;

use ts_rs::{TS, TypeVisitor};

/// Every declaration reachable from the roots, by name.
#[derive(Default)]
struct Declarations(BTreeMap<String, String>);

impl TypeVisitor for Declarations {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Built-in types (strings, numbers, containers) have no declaration of their own.
        if T::output_path().is_none() {
            return;
        }
        let name = T::ident();
        if self.0.contains_key(&name) {
            return;
        }
        self.0.insert(name, T::decl());
        T::visit_dependencies(self);
    }
}

/// The file's text: a header, then every declaration in name order.
pub fn generate() -> String {
    use crate::commands::{household, media, proxy, session, sync};
    use yijian_client::{files, inbox, notices, proxy as engine_proxy, views, visits};
    use yijian_core::checklist;

    let mut d = Declarations::default();
    // The roots: what commands take and return, and what events carry.
    d.visit::<crate::error::CommandError>();
    d.visit::<session::AppState>();
    d.visit::<inbox::InboxQuery>();
    d.visit::<inbox::InboxPage>();
    d.visit::<files::HouseholdFile>();
    d.visit::<files::CaseView>();
    d.visit::<household::Found>();
    d.visit::<media::StagedPhotoView>();
    d.visit::<visits::VisitView>();
    d.visit::<checklist::ChecklistTemplate>();
    d.visit::<checklist::Answer>();
    d.visit::<checklist::Evaluation>();
    d.visit::<checklist::AnswerProblem>();
    d.visit::<engine_proxy::RiskOption>();
    d.visit::<engine_proxy::VillageOption>();
    d.visit::<engine_proxy::ProxyForm>();
    d.visit::<engine_proxy::ReadBackLine>();
    d.visit::<proxy::Submitted>();
    d.visit::<sync::SyncStatus>();
    d.visit::<yijian_client::sync::SyncProgress>();
    d.visit::<crate::SyncDone>();
    d.visit::<views::QuarantineEntry>();
    d.visit::<views::ConflictEntry>();
    d.visit::<views::ConflictChoice>();
    d.visit::<notices::NoticeList>();

    let mut out = String::from(
        "// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs). Do not edit:\n\
         // change the Rust type, then run `YIJIAN_WRITE_BINDINGS=1 cargo test -p yijian-app bindings`.\n\
         // Integers are `number`: serde writes JSON numbers, and every count, size and amount the\n\
         // app handles is far below 2^53.\n",
    );
    for decl in d.0.values() {
        out.push('\n');
        out.push_str("export ");
        out.push_str(&decl.replace("bigint", "number"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bindings_are_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts");
        let fresh = super::generate();
        if std::env::var_os("YIJIAN_WRITE_BINDINGS").is_some() {
            std::fs::write(path, &fresh).expect("write ui/src/bindings.ts");
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/bindings.ts is not what the Rust types say: run \
             `YIJIAN_WRITE_BINDINGS=1 cargo test -p yijian-app bindings` and fix the screens \
             that no longer type-check"
        );
    }
}
