//! The single writer: one thread owns the write connection and commits queued commands in
//! batches (group commit).
//!
//! Every write of the store is a command sent to the writer over a bounded queue. The writer
//! takes every command waiting (at most [`WriterOptions::max_batch`]), opens one
//! `BEGIN IMMEDIATE` transaction, applies the commands one after the other, commits once (one
//! fsync for the batch), and only then answers each caller. So:
//!
//! - a command that fails on its own data (a conflict, corrupt rows) never touches its
//!   batch-mates: the batch is rolled back and applied again with each command in its own
//!   savepoint, so the failing one rolls back alone and the others commit as if it had never
//!   been there. (Savepoints cost a fifth of the throughput, so they are taken only when a
//!   batch needs them; commands are plain functions of the database, so running one again
//!   after a rollback is the same as running it once);
//! - a command that fails because storage fails (full, read-only, I/O, locked by another
//!   process past the busy timeout) fails the whole batch: the transaction is rolled back and
//!   every command of the batch is answered `Unavailable`, nothing of it written;
//! - a caller is answered only after the commit that holds its writes;
//! - the queue is bounded: when it is full, a write is refused at once (`Unavailable`); a
//!   caller that waited longer than the busy timeout gives up, and a command whose caller gave
//!   up before the writer reached it is never applied.
//!
//! Connections of other processes (the CLI, a backup) still share the file: the writer takes
//! the write lock per batch (never `locking_mode = EXCLUSIVE`) and waits at most the busy
//! timeout for it. WAL checkpoints run on their own connection (see [`checkpointer`]), off the
//! writer's critical path; when the WAL is long ([`WriterOptions::wal_restart_frames`]) the
//! writer finishes one between two batches, so that the WAL restarts from its beginning and
//! stays bounded.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError},
    },
    thread,
    time::Duration,
};

use diesel::{connection::SimpleConnection, prelude::*, result::Error as DieselError};
use tokio::sync::oneshot;

use payram_ports::RepositoryError;

use crate::error::Failure;

/// How the writer queues and batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// Commands waiting for the writer at most; a write beyond is refused at once.
    pub queue: usize,
    /// Commands committed together at most, so one batch's latency stays bounded.
    pub max_batch: usize,
    /// WAL frames (pages) past which the writer finishes a checkpoint between two batches, so
    /// that the WAL restarts from its beginning: under a constant load the background
    /// checkpoints alone never let it restart, and it would grow without bound.
    pub wal_restart_frames: i64,
}

impl Default for WriterOptions {
    /// A queue of 4096 commands, batches of at most 256, the WAL restarted past 16,384 frames
    /// (64 MiB of 4 KiB pages).
    fn default() -> Self {
        Self { queue: 4096, max_batch: 256, wal_restart_frames: 16_384 }
    }
}

/// The handle callers send commands through. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: SyncSender<Box<dyn Command>>,
    /// How long a caller waits for its answer before it gives up (`Unavailable`).
    patience: Duration,
}

impl Writer {
    /// Starts the writer thread on `conn` (already configured). The thread ends when every
    /// handle is dropped, after answering what was queued.
    /// `restart` is set by the checkpointer when the WAL is long: the writer then finishes a
    /// checkpoint between two batches.
    pub(crate) fn start(
        conn: SqliteConnection,
        options: WriterOptions,
        patience: Duration,
        restart: Arc<AtomicBool>,
    ) -> Result<Self, std::io::Error> {
        let (queue, commands) = mpsc::sync_channel(options.queue.max(1));
        let max_batch = options.max_batch.max(1);
        thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || serve(conn, &commands, max_batch, &restart))?;
        Ok(Self { queue, patience })
    }

    /// Runs `work` in its own savepoint of the writer's next batch; answers once that batch
    /// committed (or failed). Never waits for room in the queue.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: Fn(&mut SqliteConnection) -> Result<T, Failure> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Job { work, result: None, reply, span: tracing::Span::current() };
        self.queue.try_send(Box::new(job)).map_err(|err| {
            let why = match err {
                TrySendError::Full(_) => "the write queue is full",
                TrySendError::Disconnected(_) => "the writer has stopped",
            };
            tracing::warn!(why, "write refused");
            RepositoryError::Unavailable(why.into())
        })?;
        match tokio::time::timeout(self.patience, answer).await {
            Ok(Ok(res)) => res.map_err(|failure| {
                let err = RepositoryError::from(failure);
                tracing::debug!(error = %err, "sqlite write failed");
                err
            }),
            Ok(Err(_)) => Err(RepositoryError::Unavailable("the writer has stopped".into())),
            // Dropping `answer` tells the writer to skip the command if it has not begun it.
            Err(_) => Err(RepositoryError::Unavailable(
                "the writer did not answer within the busy timeout".into(),
            )),
        }
    }
}

/// What applying one command came to.
enum Applied {
    Done,
    /// Failed on its own data.
    Alone,
    /// Storage failed: the batch stops and rolls back.
    Storage(String),
}

/// One queued write.
trait Command: Send {
    /// Whether its caller gave up waiting.
    fn abandoned(&self) -> bool;
    /// Applies it inside the open batch transaction; with `isolated`, in its own savepoint.
    /// Applying it again (after a rollback) replaces what an earlier application concluded.
    fn apply(&mut self, conn: &mut SqliteConnection, isolated: bool) -> Applied;
    /// Answers the caller once the batch's fate is known.
    fn answer(self: Box<Self>, batch: Result<(), &BatchFailed>);
}

struct Job<T, F> {
    work: F,
    result: Option<Result<T, Failure>>,
    reply: oneshot::Sender<Result<T, Failure>>,
    span: tracing::Span,
}

impl<T, F> Command for Job<T, F>
where
    T: Send + 'static,
    F: Fn(&mut SqliteConnection) -> Result<T, Failure> + Send + 'static,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn apply(&mut self, conn: &mut SqliteConnection, isolated: bool) -> Applied {
        let _entered = self.span.enter();
        // Inside the batch's transaction, Diesel makes `transaction` a savepoint.
        let result = if isolated { conn.transaction(&self.work) } else { (self.work)(conn) };
        let applied = match &result {
            Ok(_) => Applied::Done,
            Err(failure) if is_storage_failure(failure) => Applied::Storage(describe(failure)),
            Err(_) => Applied::Alone,
        };
        self.result = Some(result);
        applied
    }

    fn answer(self: Box<Self>, batch: Result<(), &BatchFailed>) {
        let answer = match (self.result, batch) {
            (Some(Err(failure)), _) => Err(failure),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)) | None, Err(failed)) => {
                Err(Failure::Unavailable(Box::new(failed.clone())))
            }
            (None, Ok(())) => Err(Failure::Unavailable("the command was not applied".into())),
        };
        // The caller may have given up; then nobody listens.
        let _ = self.reply.send(answer);
    }
}

/// Why a batch was not committed; every command of it is answered `Unavailable` with it.
#[derive(Clone, Debug, thiserror::Error)]
#[error("the write batch was not committed: {0}")]
pub(crate) struct BatchFailed(String);

/// The writer thread: batch after batch until every handle is dropped.
fn serve(
    mut conn: SqliteConnection,
    commands: &Receiver<Box<dyn Command>>,
    max_batch: usize,
    restart: &AtomicBool,
) {
    while let Ok(first) = commands.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match commands.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        // A caller that gave up is never written for: it has answered 503 already.
        batch.retain(|command| !command.abandoned());
        if batch.is_empty() {
            continue;
        }
        let outcome = commit(&mut conn, &mut batch);
        if let Err(failed) = &outcome {
            tracing::warn!(error = %failed, commands = batch.len(), "write batch rolled back");
        }
        for command in batch {
            command.answer(outcome.as_ref().copied());
        }
        if restart.swap(false, Ordering::AcqRel)
            && let Err(error) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")
        {
            tracing::debug!(%error, "wal checkpoint by the writer skipped");
        }
    }
}

/// Applies the batch in one `BEGIN IMMEDIATE` transaction and commits it: first without
/// savepoints; when a command fails on its own data, the batch is rolled back and applied
/// again with each command in its own savepoint.
fn commit(conn: &mut SqliteConnection, batch: &mut [Box<dyn Command>]) -> Result<(), BatchFailed> {
    match attempt(conn, batch, false) {
        Attempt::Committed => Ok(()),
        Attempt::Failed(failed) => Err(failed),
        Attempt::Isolate => match attempt(conn, batch, true) {
            Attempt::Committed => Ok(()),
            Attempt::Failed(failed) => Err(failed),
            Attempt::Isolate => Err(BatchFailed("a command failed alone in its savepoint".into())),
        },
    }
}

/// What one application of a batch came to.
enum Attempt {
    Committed,
    /// Rolled back; every command of it is answered with this.
    Failed(BatchFailed),
    /// Rolled back because a command failed on its own data: apply it again, isolated.
    Isolate,
}

fn attempt(conn: &mut SqliteConnection, batch: &mut [Box<dyn Command>], isolated: bool) -> Attempt {
    let mut stopped = None;
    let res = conn.immediate_transaction(|conn| {
        for command in batch.iter_mut() {
            match command.apply(conn, isolated) {
                Applied::Done => {}
                Applied::Alone if isolated => {}
                Applied::Alone => {
                    stopped = Some(Attempt::Isolate);
                    return Err(DieselError::RollbackTransaction);
                }
                Applied::Storage(why) => {
                    stopped = Some(Attempt::Failed(BatchFailed(why)));
                    return Err(DieselError::RollbackTransaction);
                }
            }
        }
        Ok(())
    });
    match (res, stopped) {
        (Ok(()), _) => Attempt::Committed,
        (Err(_), Some(stopped)) => stopped,
        (Err(err), None) => Attempt::Failed(BatchFailed(err.to_string())),
    }
}

/// Whether a failure is storage failing (which fails the whole batch), rather than this
/// command's own data.
fn is_storage_failure(failure: &Failure) -> bool {
    use diesel::result::DatabaseErrorKind as Kind;
    match failure {
        Failure::Conflict | Failure::Corrupt(_) => false,
        Failure::Unavailable(_) => true,
        Failure::Database(err) => !matches!(
            err,
            DieselError::DatabaseError(
                Kind::UniqueViolation
                    | Kind::ForeignKeyViolation
                    | Kind::NotNullViolation
                    | Kind::CheckViolation,
                _
            ) | DieselError::DeserializationError(_)
                | DieselError::NotFound
        ),
    }
}

fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Database(err) => err.to_string(),
        Failure::Unavailable(err) | Failure::Corrupt(err) => err.to_string(),
        Failure::Conflict => "conflict".to_owned(),
    }
}

/// Checkpoints the WAL every `interval` on its own connection (`PASSIVE`: it never waits for
/// the writer or a reader), so the writer, whose automatic checkpoints are off, does not copy
/// pages inside a request; when the WAL is longer than `restart_frames` it sets `restart`.
///
/// Why the writer must then finish a checkpoint itself: under a constant load this thread
/// never catches up with the frames appended meanwhile, and SQLite restarts the WAL from its
/// beginning only once every frame was copied, so left alone the WAL grows without bound
/// (measured: 28 GB in a 4-minute soak). Between two batches no write is in progress, so the
/// writer's checkpoint completes; it copies only what this thread has not yet (a tenth of a
/// second of writes), and the next batch restarts the WAL (`journal_size_limit` then
/// truncates the file). Ends when `stop`'s sender is dropped.
pub(crate) fn checkpointer(
    mut conn: SqliteConnection,
    interval: Duration,
    restart_frames: i64,
    stop: Receiver<()>,
    restart: Arc<AtomicBool>,
) -> Result<(), std::io::Error> {
    thread::Builder::new().name("sqlite-checkpoint".to_owned()).spawn(move || {
        // Ends on a message or when the sender is dropped.
        while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
            match diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                .get_result::<Checkpoint>(&mut conn)
            {
                Ok(checkpoint) if checkpoint.log >= restart_frames => {
                    restart.store(true, Ordering::Release);
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "wal checkpoint skipped"),
            }
        }
    })?;
    Ok(())
}

/// What `PRAGMA wal_checkpoint` answers.
#[derive(diesel::QueryableByName)]
struct Checkpoint {
    /// Frames in the WAL.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}
