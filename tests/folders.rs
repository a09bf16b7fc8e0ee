//! Custom folders named where a row of the export names them
//! (`docs/scope.md` §1.4): a delivery gives only the folder's id, an OWA
//! row about the same item gives the open folder's display name. Rows that
//! disagree, and conversation-view rows (which span folders), name nothing.

mod common;

use common::o365scan;
use std::fs;

const OWNER: &str = "11111111-1111-4111-8111-111111111111";
const EXCHANGE: &str = "00000000-0000-0000-0000-000000000000";
const NEWSLETTERS: &str = "LgAAAAC3HcBsw9HdTJn3mWBmGvcBAQBxq7UoN0ZnR4nT1XqC2kTfAAAH2krNEWS";
const DISPUTED: &str = "LgAAAAC3HcBsw9HdTJn3mWBmGvcBAQBxq7UoN0ZnR4nT1XqC2kTfAAAH2krDISP";
const THREADED: &str = "LgAAAAC3HcBsw9HdTJn3mWBmGvcBAQBxq7UoN0ZnR4nT1XqC2kTfAAAH2krTHRD";

fn item(n: u32) -> String {
    format!("AAMkADQ2NjE{n:08}AAA=")
}

fn delivery<'a>(time: &'a str, item: &'a str, folder: &'a str) -> common::TestRow<'a> {
    let props: &'static [(&'static str, &'static str)] = match folder {
        NEWSLETTERS => &[
            ("SenderSmtpAddress", "news@industryweekly.example"),
            ("Subject", "This week in freight"),
            ("DeliveredFolderType", "0"),
            ("DeliveredFolderId", NEWSLETTERS),
            ("DeliveredToInbox", "False"),
        ],
        DISPUTED => &[
            ("SenderSmtpAddress", "events@chamber.example"),
            ("Subject", "Chamber events"),
            ("DeliveredFolderType", "0"),
            ("DeliveredFolderId", DISPUTED),
            ("DeliveredToInbox", "False"),
        ],
        _ => &[
            ("SenderSmtpAddress", "team@contoso.example"),
            ("Subject", "Standup"),
            ("DeliveredFolderType", "0"),
            ("DeliveredFolderId", THREADED),
            ("DeliveredToInbox", "False"),
        ],
    };
    (time, "Exchange", "MessageDelivered", item, EXCHANGE, props)
}

#[test]
fn custom_folders_take_the_name_a_row_gives_them() {
    let dir = common::scratch_dir("folders-named");
    let csv = dir.join("a.csv");
    let (i1, i2, i3, i4) = (item(1), item(2), item(3), item(4));
    let logon: &[(&str, &str)] = &[
        ("Result", "Success"),
        ("ClientIP", "81.2.69.160"),
        ("UserName", "cfo@contoso.example"),
        (
            "UserAgent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/66.0",
        ),
    ];
    let read =
        |folder: &'static str, conversation: &'static str| -> Vec<(&'static str, &'static str)> {
            vec![
                ("IsConversation", conversation),
                ("SelectedFolderName", folder),
            ]
        };
    let (r1, r2, r3, r4) = (
        read("Newsletters", "0"),
        read("Events", "0"),
        read("Chamber", "0"),
        read("Inbox", "1"),
    );
    common::write_export(
        &csv,
        &[
            (
                "2018-06-20T08:00:00.000Z",
                "Web",
                "ServerLogon",
                "",
                OWNER,
                logon,
            ),
            delivery("2018-06-20T08:01:00.000Z", &i1, NEWSLETTERS),
            delivery("2018-06-20T08:02:00.000Z", &i2, DISPUTED),
            delivery("2018-06-20T08:03:00.000Z", &i3, DISPUTED),
            delivery("2018-06-20T08:04:00.000Z", &i4, THREADED),
            (
                "2018-06-20T08:10:00.000Z",
                "Web",
                "ReadingPaneDisplayStart",
                &i1,
                OWNER,
                &r1,
            ),
            (
                "2018-06-20T08:11:00.000Z",
                "Web",
                "ReadingPaneDisplayStart",
                &i2,
                OWNER,
                &r2,
            ),
            (
                "2018-06-20T08:12:00.000Z",
                "Web",
                "ReadingPaneDisplayStart",
                &i3,
                OWNER,
                &r3,
            ),
            (
                "2018-06-20T08:13:00.000Z",
                "Web",
                "ReadingPaneDisplayStart",
                &i4,
                OWNER,
                &r4,
            ),
        ],
    );
    let timeline = dir.join("t.csv");
    let html = dir.join("r.html");
    o365scan()
        .args(["-q", "--timeline"])
        .arg(&timeline)
        .arg("--html")
        .arg(&html)
        .arg(&csv)
        .assert()
        .code(0);
    let mut reader = csv::Reader::from_path(&timeline).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (line, folder, name) = (col("line"), col("folder"), col("folder_name"));
    let named: Vec<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[line].to_string(),
                r[folder].to_string(),
                r[name].to_string(),
            )
        })
        .collect();
    let by_line = |l: &str| named.iter().find(|(n, _, _)| n == l).unwrap().clone();
    // The delivery keeps its exported folder ("Custom", the type's name)
    // and gains the name line 7's reading row gives its folder id.
    assert_eq!(by_line("3").2, "Newsletters");
    assert_eq!(by_line("3").1, "Custom", "the exported value is kept");
    // Two rows name the disputed folder differently: no name.
    assert_eq!(by_line("4").2, "");
    assert_eq!(by_line("5").2, "");
    // A conversation-view row does not name the folder.
    assert_eq!(by_line("6").2, "");
    let page = fs::read_to_string(&html).unwrap();
    // People see the name, with the id's tail that tells folders apart.
    assert!(page.contains("folder Newsletters (…fAAAH2krNEWS)"));
    assert!(page.contains("the custom folder &#39;Newsletters&#39; (…fAAAH2krNEWS)"));
}
