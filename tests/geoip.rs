//! `--geoip`: offline IP enrichment from MaxMind DB files
//! (`docs/geoip.md`), with the made-up databases of `fixtures/geoip/`
//! (`make_test_db.py`).

mod common;

use common::o365scan;
use std::fs;
use std::path::Path;

const CITY: &str = "fixtures/geoip/test-city.mmdb";
const ASN: &str = "fixtures/geoip/test-asn.mmdb";
const IPINFO: &str = "fixtures/geoip/test-ipinfo-lite.mmdb";
/// Logons from home (81.2.69.142) and from a VPS (185.220.101.7).
const EXPORT: &str = "fixtures/rules/logon-new-ip/hit.csv";

fn json(args: &[&str]) -> serde_json::Value {
    let out = o365scan()
        .args(["-q", "--format", "json"])
        .args(args)
        .arg(EXPORT)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn maxmind_city_and_asn_databases_fill_each_ip_once() {
    let r = json(&["--geoip", CITY, "--geoip", ASN]);
    let vps = &r["ip_info"]["185.220.101.7"];
    assert_eq!(vps["country_code"], "NL");
    assert_eq!(vps["country"], "Netherlands");
    assert_eq!(vps["city"], "Amsterdam");
    assert_eq!(vps["accuracy_km"], 100);
    assert_eq!(vps["asn"], 14061);
    assert_eq!(vps["org"], "DigitalOcean, LLC");
    assert_eq!(r["ip_info"]["81.2.69.142"]["city"], "London");
    let dbs = r["geoip"].as_array().unwrap();
    assert_eq!(dbs[0]["database_type"], "GeoLite2-City");
    assert_eq!(
        dbs[0]["provides"],
        serde_json::json!(["country_code", "country", "city", "location", "accuracy_km"])
    );
    assert_eq!(dbs[1]["provides"], serde_json::json!(["asn", "org"]));
}

#[test]
fn ipinfo_lite_layout_is_read_from_its_metadata() {
    let r = json(&["--geoip", IPINFO]);
    let vps = &r["ip_info"]["185.220.101.7"];
    assert_eq!(vps["country_code"], "NL");
    assert_eq!(vps["asn"], 14061, "'AS14061' read as a number");
    assert_eq!(vps["org"], "DigitalOcean, LLC");
    assert!(vps.get("city").is_none(), "IPinfo Lite has no city");
}

#[test]
fn an_ip_no_database_knows_is_unknown_not_an_error() {
    let out = o365scan()
        .args(["--geoip", CITY, "fixtures/sample/activities.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("175.45.176.123") && table.contains("not in the --geoip databases"));
    let r: serde_json::Value = serde_json::from_slice(
        &o365scan()
            .args([
                "-q",
                "--format",
                "json",
                "--geoip",
                CITY,
                "fixtures/sample/activities.csv",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(r["ip_info"], serde_json::json!({}));
}

#[test]
fn every_place_an_ip_is_shown_says_where_it_is() {
    let dir = common::scratch_dir("geoip-outputs");
    let out = o365scan()
        .args(["-q", "--geoip", CITY, "--geoip", ASN, "--timeline"])
        .arg(dir.join("tl.csv"))
        .arg("--html")
        .arg(dir.join("r.html"))
        .arg(EXPORT)
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("NL Netherlands, Amsterdam · AS14061 DigitalOcean, LLC"),
        "{table}"
    );
    let tl = fs::read_to_string(dir.join("tl.csv")).unwrap();
    let header = tl.lines().next().unwrap();
    assert!(
        header.contains(",ip,ip_via,ip_country,ip_asn,ip_org,user_agent,"),
        "{header}"
    );
    assert!(
        tl.lines()
            .any(|l| l.contains(",185.220.101.7,logon,NL,14061,\"DigitalOcean, LLC\","))
    );
    let html = fs::read_to_string(dir.join("r.html")).unwrap();
    assert!(html.contains("<th>Country</th><th>Network (AS)</th>"));
    assert!(html.contains("AS14061 DigitalOcean, LLC"));
    o365scan()
        .args(["-q", "--geoip", IPINFO, "--timesketch", "--timeline"])
        .arg(dir.join("ts.jsonl"))
        .arg(EXPORT)
        .assert()
        .code(0);
    let ts = fs::read_to_string(dir.join("ts.jsonl")).unwrap();
    let vps = ts.lines().find(|l| l.contains("185.220.101.7")).unwrap();
    let v: serde_json::Value = serde_json::from_str(vps).unwrap();
    assert_eq!(v["ip_country"], "NL");
    assert_eq!(v["ip_asn"], 14061);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("from 185.220.101.7 (NL Netherlands · AS14061 DigitalOcean, LLC)")
    );
}

#[test]
fn a_missing_or_foreign_database_is_exit_66_naming_it() {
    for bad in ["fixtures/geoip/missing.mmdb", "README.md"] {
        o365scan()
            .args(["--geoip", bad, EXPORT])
            .assert()
            .code(66)
            .stderr(predicates::str::contains(bad));
    }
}

#[test]
fn asn_indicators_match_through_the_asn_database() {
    let dir = common::scratch_dir("geoip-asn-ioc");
    let iocs = dir.join("iocs.txt");
    fs::write(&iocs, "AS14061\thosting provider seen in case 42\n").unwrap();
    let with = |db: Option<&str>| {
        let mut cmd = o365scan();
        cmd.args(["-q", "--format", "json", "--ioc"]).arg(&iocs);
        if let Some(db) = db {
            cmd.args(["--geoip", db]);
        }
        let out = cmd.arg(EXPORT).output().unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        common::findings_of(&r, "ioc-match")
            .iter()
            .map(|f| f["count"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(with(Some(ASN)), [1], "the VPS logon, AS14061");
    assert_eq!(with(Some(IPINFO)), [1], "the same through IPinfo Lite");
    assert!(
        with(None).is_empty(),
        "no database: nothing to compare with"
    );
}

/// A phone whose carrier moves it to another pool of the same AS, after a
/// week of history: nothing above low, with the databases as without.
#[test]
fn a_carrier_pool_rotating_within_one_as_stays_low() {
    let dir = common::scratch_dir("geoip-carrier");
    const PHONE: &str = "Android-Mail/7.10.31.191018519.release";
    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.181 Safari/537.36";
    let times: Vec<(String, String)> = (1..=12)
        .map(|d| {
            (
                format!("2018-06-{d:02}T08:30:00.000Z"),
                format!("2018-06-{d:02}T12:30:00.000Z"),
            )
        })
        .collect();
    let logon = |ip, ua| common::logon_props(ip, ua, "u@contoso.example");
    let home = logon("81.2.69.142", CHROME);
    let manchester = logon("94.197.121.4", PHONE);
    let leeds = logon("94.197.201.9", PHONE);
    let mut rows: Vec<common::TestRow<'_>> = Vec::new();
    for (n, (morning, noon)) in times.iter().enumerate() {
        rows.push((morning, "Web", "ServerLogon", "", "s-home", &home));
        let phone: &[(&str, &str)] = if n < 9 { &manchester } else { &leeds };
        rows.push((noon, "Mobile", "ServerLogon", "", "s-phone", phone));
    }
    let export = dir.join("carrier.csv");
    common::write_export(&export, &rows);
    let out = o365scan()
        .args(["-q", "--format", "json", "--geoip", CITY, "--geoip", ASN])
        .arg(&export)
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = r["findings"].as_array().unwrap();
    for f in findings {
        assert!(
            ["informational", "low"].contains(&f["level"].as_str().unwrap()),
            "{}: {} {}",
            f["rule"],
            f["level"],
            f["summary"]
        );
    }
    assert_eq!(r["ip_info"]["94.197.201.9"]["asn"], 206067);
}

/// The GeoLite2 City database of 2018 (contemporary with these exports)
/// that PyPI's `maxminddb-geolite2` ships, when it is installed: the
/// published sample's one IP is placed in North Korea. Skipped otherwise.
#[test]
fn geolite2_city_of_2018_places_the_sample_when_installed() {
    let found = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util, os; s = importlib.util.find_spec('_maxminddb_geolite2'); print(os.path.join(os.path.dirname(s.origin), 'GeoLite2-City.mmdb') if s else '')",
        ])
        .output();
    let path = found
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|p| !p.is_empty() && Path::new(p).exists());
    let Some(path) = path else {
        eprintln!("GeoLite2 test skipped: pip install maxminddb-geolite2 to run it");
        return;
    };
    let out = o365scan()
        .args([
            "-q",
            "--format",
            "json",
            "--geoip",
            &path,
            "fixtures/sample/activities.csv",
        ])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["geoip"][0]["database_type"], "GeoLite2-City");
    assert_eq!(r["ip_info"]["175.45.176.123"]["country_code"], "KP");
}

/// A laptop tethered to the owner's carrier all week, then a newer browser
/// of the same family from another pool of that carrier, in another /16:
/// without a database a new actor (medium), with one the owner's (low).
#[test]
fn a_new_network_in_a_known_actors_as_is_the_same_family() {
    let dir = common::scratch_dir("geoip-as-family");
    const CHROME_66: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.181 Safari/537.36";
    const CHROME_67: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.87 Safari/537.36";
    let logon = |ip, ua| common::logon_props(ip, ua, "u@contoso.example");
    let (tethered, other_pool) = (
        logon("94.197.121.4", CHROME_66),
        logon("176.250.10.10", CHROME_67),
    );
    let times: Vec<(String, String)> = (1..=12)
        .map(|d| {
            (
                format!("2018-06-{d:02}T08:30:00.000Z"),
                format!("2018-06-{d:02}T15:00:00.000Z"),
            )
        })
        .collect();
    let mut rows: Vec<common::TestRow<'_>> = Vec::new();
    for (n, (morning, afternoon)) in times.iter().enumerate() {
        rows.push((morning, "Web", "ServerLogon", "", "s-laptop", &tethered));
        if n >= 9 {
            rows.push((afternoon, "Web", "ServerLogon", "", "s-new", &other_pool));
        }
    }
    let export = dir.join("tethered.csv");
    common::write_export(&export, &rows);
    let level = |geoip: bool| {
        let mut cmd = o365scan();
        cmd.args(["-q", "--format", "json"]);
        if geoip {
            cmd.args(["--geoip", CITY, "--geoip", ASN]);
        }
        let out = cmd.arg(&export).output().unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        common::findings_of(&r, "logon-new-ip")
            .iter()
            .map(|f| f["level"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(level(false), ["medium"], "without the AS: a new actor");
    assert_eq!(
        level(true),
        ["low"],
        "the owner's carrier: the owner's actor"
    );
}

/// One client session alternating its IPv4 and IPv6 addresses, which the
/// database places a continent apart, is not a journey; and a second
/// device on another pool of the owner's carrier while the owner is active
/// is not joined to the owner by the AS.
#[test]
fn dual_stack_is_not_travel_and_a_concurrent_device_is_not_the_owner() {
    let dir = common::scratch_dir("geoip-concurrent");
    const CHROME_66: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.181 Safari/537.36";
    const CHROME_67: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.87 Safari/537.36";
    let logon = |ip, ua| common::logon_props(ip, ua, "u@contoso.example");
    let (v4, v6) = (
        logon("81.2.69.142", CHROME_66),
        logon("2001:db8::5", CHROME_66),
    );
    let dual: Vec<common::TestRow<'_>> = vec![
        (
            "2018-06-01T10:00:00.000Z",
            "Web",
            "ServerLogon",
            "",
            "s-1",
            &v4,
        ),
        (
            "2018-06-01T10:00:01.000Z",
            "Web",
            "ServerLogon",
            "",
            "s-1",
            &v6,
        ),
        (
            "2018-06-01T10:00:02.000Z",
            "Web",
            "ServerLogon",
            "",
            "s-1",
            &v4,
        ),
    ];
    let (tethered, second) = (
        logon("94.197.121.4", CHROME_66),
        logon("176.250.1.1", CHROME_67),
    );
    let days: Vec<(String, String)> = (1..=12)
        .map(|d| (format!("2018-06-{d:02}T10:00:00.000Z"), format!("s-{d}")))
        .collect();
    let mut concurrent: Vec<common::TestRow<'_>> = Vec::new();
    for (t, session) in &days {
        concurrent.push((t, "Web", "ServerLogon", "", session, &tethered));
    }
    let other = (
        "2018-06-12T10:00:10.000Z",
        "Web",
        "ServerLogon",
        "",
        "s-other",
        &second[..],
    );
    concurrent.push(other);
    // The owner's browser goes on: the other is no update of it.
    let again = (
        "2018-06-12T10:00:20.000Z",
        "Web",
        "ServerLogon",
        "",
        "s-13",
        &tethered[..],
    );
    concurrent.push(again);
    let run = |name: &str, rows: &[common::TestRow<'_>]| {
        let export = dir.join(name);
        common::write_export(&export, rows);
        let out = o365scan()
            .args(["-q", "--format", "json", "--geoip", CITY, "--geoip", ASN])
            .arg(&export)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let r = run("dual.csv", &dual);
    assert!(common::findings_of(&r, "logon-impossible-travel").is_empty());
    let r = run("concurrent.csv", &concurrent);
    let new_ip = common::findings_of(&r, "logon-new-ip");
    assert_eq!(new_ip.len(), 1);
    assert_eq!(new_ip[0]["level"], "medium", "not joined to the busy owner");
}
