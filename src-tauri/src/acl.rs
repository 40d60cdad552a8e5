//! The app's commands are in the access control list: every command `generate_handler!`
//! registers is declared in `build.rs` (so Tauri generates its permission) and granted by the
//! `app-commands` set that both capabilities include. A command missing from any of them fails
//! here instead of failing silently in the webview.

use std::collections::BTreeSet;

fn quoted_between(text: &str, start: &str, end: &str) -> BTreeSet<String> {
    let from = text.find(start).expect("start marker") + start.len();
    let to = from + text[from..].find(end).expect("end marker");
    text[from..to]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_registered_command_is_declared_and_granted() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).expect(p);
    let lib = read("src/lib.rs");
    let from = lib.find("generate_handler![").expect("generate_handler");
    let to = from + lib[from..].find(']').expect("end of handler list");
    let registered: BTreeSet<String> = lib[from..to]
        .split("commands::")
        .skip(1)
        .filter_map(|s| s.split(',').next())
        .filter_map(|path| path.rsplit("::").next())
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(registered.len() > 30, "{registered:?}");

    let declared = quoted_between(&read("build.rs"), "const COMMANDS: &[&str] = &[", "];");
    assert_eq!(
        declared, registered,
        "build.rs COMMANDS vs generate_handler!"
    );

    let granted: BTreeSet<String> =
        quoted_between(&read("permissions/app.toml"), "permissions = [", "]")
            .into_iter()
            .map(|p| p.trim_start_matches("allow-").replace('-', "_"))
            .collect();
    assert_eq!(
        granted, registered,
        "permissions/app.toml vs generate_handler!"
    );

    for cap in ["capabilities/desktop.json", "capabilities/mobile.json"] {
        let c: serde_json::Value = serde_json::from_str(&read(cap)).expect(cap);
        let perms = c["permissions"].as_array().expect("permissions");
        assert!(
            perms.iter().any(|p| p == "app-commands"),
            "{cap} lacks app-commands"
        );
        assert!(
            !perms
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.starts_with("core:default"))),
            "{cap} grants the whole core set"
        );
    }
}
