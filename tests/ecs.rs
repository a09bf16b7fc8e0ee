//! The ECS timeline profile (`--timeline-format ecs`, docs/ecs.md) against
//! the Elastic Common Schema's own field definitions, as Elastic publishes
//! them in npm's `@elastic/ecs` package (its `EcsFlat` table: every field's
//! dotted name and type), not a hand-written list. `.ci/run` installs Node
//! and unpacks the package (O365SCAN_ECS_DIR); elsewhere the test fetches
//! it with npm when it can, and is skipped otherwise unless
//! O365SCAN_REQUIRE_ECS is set.

mod common;

use common::o365scan;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const ECS_RELEASE: &str = "9.4.0";

/// The unpacked `@elastic/ecs` package.
fn package() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("O365SCAN_ECS_DIR") {
        return Some(PathBuf::from(dir));
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ecs-defs");
    let unpacked = dir.join("package");
    if !unpacked.join("build/commonjs/index.js").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let packed = Command::new("npm")
            .args(["pack", &format!("@elastic/ecs@{ECS_RELEASE}"), "--silent"])
            .current_dir(&dir)
            .output()
            .ok()
            .filter(|o| o.status.success());
        let tarball = dir.join(format!("elastic-ecs-{ECS_RELEASE}.tgz"));
        let unpacked_ok = packed.is_some()
            && Command::new("tar")
                .arg("xzf")
                .arg(&tarball)
                .current_dir(&dir)
                .status()
                .is_ok_and(|s| s.success());
        if !unpacked_ok {
            assert!(
                std::env::var_os("O365SCAN_REQUIRE_ECS").is_none(),
                "O365SCAN_REQUIRE_ECS is set but @elastic/ecs could not be fetched"
            );
            eprintln!("ECS test skipped: npm could not fetch @elastic/ecs");
            return None;
        }
    }
    Some(unpacked)
}

/// flat name → (type, normalize) from the package's `EcsFlat`.
fn definitions(package: &Path) -> Option<serde_json::Map<String, Value>> {
    let index = package.join("build/commonjs/index.js");
    let script = format!(
        "const m=require({:?});process.stdout.write(JSON.stringify({{version:m.EcsVersion,flat:m.EcsFlat}}))",
        index.display().to_string()
    );
    let out = Command::new("node").args(["-e", &script]).output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        assert!(
            std::env::var_os("O365SCAN_REQUIRE_ECS").is_none(),
            "O365SCAN_REQUIRE_ECS is set but node could not read {}",
            index.display()
        );
        eprintln!("ECS test skipped: no node");
        return None;
    };
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["version"], ECS_RELEASE,
        "the package is the release we follow"
    );
    Some(doc["flat"].as_object().unwrap().clone())
}

/// Dotted leaves of a document; arrays of scalars are one leaf.
fn leaves<'a>(prefix: String, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(name, v, out);
            }
        }
        _ => out.push((prefix, v)),
    }
}

/// Whether a JSON value may be indexed as an ECS field of `kind`.
fn fits(kind: &str, v: &Value) -> bool {
    let each = |ok: &dyn Fn(&Value) -> bool| match v {
        Value::Array(items) => items.iter().all(ok),
        v => ok(v),
    };
    match kind {
        "keyword" | "constant_keyword" | "wildcard" | "text" | "match_only_text" => {
            each(&|v| v.is_string())
        }
        "ip" => each(&|v| {
            v.as_str()
                .is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok())
        }),
        "date" => each(&|v| {
            v.as_str()
                .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
        }),
        "long" | "integer" | "short" | "byte" | "unsigned_long" => {
            each(&|v| v.is_u64() || v.is_i64())
        }
        "float" | "half_float" | "scaled_float" | "double" => each(&|v| v.is_number()),
        "boolean" => each(&|v| v.is_boolean()),
        _ => false,
    }
}

fn ecs_timeline(args: &[&str], input: &str) -> Vec<Value> {
    let dir = common::scratch_dir(&format!("ecs-{}", input.replace(['/', '.'], "_")));
    let path = dir.join("timeline.ndjson");
    o365scan()
        .args(["-q", "--timeline-format", "ecs", "--timeline"])
        .arg(&path)
        .args(args)
        .arg(input)
        .assert()
        .code(0);
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ecs_documents_use_the_published_field_names_and_types() {
    let Some(package) = package() else { return };
    let Some(defs) = definitions(&package) else {
        return;
    };
    let geo = [
        "--geoip",
        "fixtures/geoip/test-city.mmdb",
        "--geoip",
        "fixtures/geoip/test-asn.mmdb",
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (args, input) in [
        (&[][..], "fixtures/sample/activities.csv"),
        (&geo[..], "fixtures/rules/logon-new-ip/hit.csv"),
        (&[][..], "fixtures/hostile/injection.csv"),
    ] {
        let docs = ecs_timeline(args, input);
        assert!(!docs.is_empty());
        for doc in &docs {
            assert!(doc["@timestamp"].is_string(), "@timestamp is required");
            assert_eq!(doc["ecs"]["version"], ECS_RELEASE);
            let mut out = Vec::new();
            leaves(String::new(), doc, &mut out);
            for (name, value) in out {
                if name.starts_with("o365scan.") {
                    continue;
                }
                let def = defs
                    .get(&name)
                    .unwrap_or_else(|| panic!("{name} is not an ECS {ECS_RELEASE} field"));
                let kind = def["type"].as_str().unwrap();
                assert!(
                    fits(kind, value),
                    "{name}: {value} does not fit ECS type {kind}"
                );
                let array_ok = def["normalize"]
                    .as_array()
                    .is_some_and(|n| n.iter().any(|x| x == "array"));
                assert!(
                    !value.is_array() || array_ok,
                    "{name}: an array where ECS expects one value"
                );
                seen.insert(name);
            }
        }
    }
    for field in [
        "@timestamp",
        "event.action",
        "event.provider",
        "event.created",
        "event.severity",
        "source.ip",
        "source.geo.country_iso_code",
        "source.as.number",
        "user.name",
        "user_agent.original",
        "email.subject",
        "email.from.address",
        "email.message_id",
        "rule.name",
        "tags",
        "log.file.path",
    ] {
        assert!(seen.contains(field), "{field} never written");
    }
}

/// The profile's rows are the timeline's rows, one document each, in the
/// same order, the evidence kept verbatim under `o365scan`.
#[test]
fn ecs_documents_follow_the_timeline_row_for_row() {
    let docs = ecs_timeline(&[], "fixtures/sample/activities.csv");
    assert_eq!(docs.len(), 29);
    let search = docs.iter().find(|d| d["o365scan"]["line"] == 31).unwrap();
    assert_eq!(search["event"]["action"], "SearchResult");
    assert_eq!(search["o365scan"]["query"], "bacs");
    assert_eq!(search["rule"]["name"], "search-financial");
    assert_eq!(search["event"]["severity"], 2);
    assert_eq!(search["source"]["ip"], "175.45.176.123");
    assert_eq!(search["o365scan"]["properties"]["Query"], "bacs");
}
