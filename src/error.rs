//! Errors that end a run, and the exit code each maps to (README "Exit
//! status"; codes from `sysexits.h`).

use std::io;
use std::process::ExitCode;

/// Exit codes, one place. Never 1 for an error: 1 means "findings at or
/// above `--fail-on`".
pub mod exit {
    pub const OK: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const USAGE: u8 = 2;
    /// EX_DATAERR: not an export, no rows, or a bad row under `--strict`.
    pub const DATA: u8 = 65;
    /// EX_NOINPUT: missing, unreadable or a directory.
    pub const NO_INPUT: u8 = 66;
    /// EX_SOFTWARE: o365scan's rule catalogue contradicts itself (a bug in
    /// o365scan, found at start-up before any input is read).
    pub const SOFTWARE: u8 = 70;
    /// EX_CANTCREAT: an output file exists (without --force) or cannot be created.
    pub const CANT_CREATE: u8 = 73;
    /// EX_IOERR: reading failed part way, or the report could not be written.
    pub const IO: u8 = 74;
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot open")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: is a directory, expected a CSV file")]
    Directory { path: String },
    #[error(
        "{path}: not an Activities export: expected the retriever header (TimeStamp,AppIdType,ActivityIdType,…), found {found}"
    )]
    NotAnExport { path: String, found: String },
    #[error("{path}: header but no data rows")]
    NoRows { path: String },
    #[error(
        "{path}: no Activities export (.csv or .csv.gz with the retriever header) under this folder"
    )]
    NoExports { path: String },
    #[error("{path}:{line}: {reason} (--strict)")]
    Strict {
        path: String,
        line: u64,
        reason: String,
    },
    #[error("{path}: read failed near line {line}")]
    Read {
        path: String,
        line: u64,
        #[source]
        source: io::Error,
    },
}

impl InputError {
    pub fn exit_code(&self) -> u8 {
        match self {
            InputError::Open { .. }
            | InputError::Directory { .. }
            | InputError::NoExports { .. } => exit::NO_INPUT,
            InputError::NotAnExport { .. }
            | InputError::NoRows { .. }
            | InputError::Strict { .. } => exit::DATA,
            InputError::Read { .. } => exit::IO,
        }
    }
}

/// An output file that cannot be written: exits 73.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: exists; use --force to overwrite")]
    Exists { path: String },
    #[error("{path}: cannot create")]
    Create {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// A configuration problem found after clap: exits 2 like clap's own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The rule catalogue is inconsistent (`rules::check_catalogue`): exits 70.
#[derive(Debug, thiserror::Error)]
#[error("internal error in the rule catalogue: {0}")]
pub struct CatalogueError(pub String);

/// True when the error chain bottoms out in a closed pipe (`| head`), which
/// is a normal way to stop reading, not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

/// The exit code for an error that ended the run.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(input) = cause.downcast_ref::<InputError>() {
            return ExitCode::from(input.exit_code());
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return ExitCode::from(exit::USAGE);
        }
        if cause.downcast_ref::<OutputError>().is_some() {
            return ExitCode::from(exit::CANT_CREATE);
        }
        if cause.downcast_ref::<CatalogueError>().is_some() {
            return ExitCode::from(exit::SOFTWARE);
        }
    }
    ExitCode::from(exit::IO)
}
