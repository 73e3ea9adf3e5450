//! Where the ticket facts copy ([`super::facts`]) is kept and how it follows the database:
//! one file per database under `<data-dir>/facts/`, stamped with the ticket generation, and
//! the current table in memory. The process that changes tickets patches both; any other
//! instance, or this one after a restart, sees a stamp that is not the database's and
//! rebuilds the copy from the tickets table once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::facts::{generation, rebuild, Step, Table};
use crate::db::Conn;
use crate::error::{Error, Result};

/// How long a reader waits for a change made in this process to be patched in before it
/// rebuilds the copy from the database itself.
const PATCH_WAIT: Duration = Duration::from_secs(5);
/// How long a reader waits to learn whether a generation it sees was committed here: the
/// committing task announces it right after its commit (see [`FactStore::patch`]).
const ANNOUNCE_WAIT: Duration = Duration::from_secs(1);

/// The on-disk copy, one per data directory, and the current table in memory.
#[derive(Debug)]
pub struct FactStore {
    dir: PathBuf,
    /// One rebuild or patch at a time in this process; readers wait rather than all rebuilding.
    lock: tokio::sync::Mutex<()>,
    /// The last table read or patched, with its database's id: after a change made here the
    /// patched table is served at once, without reading 100 MB back from the file.
    memory: Mutex<Option<(String, Arc<Table>)>>,
    /// Changes of tickets under way in this process ([`FactStore::writing`]): once one has
    /// committed, its patch is coming, and a reader that sees the new generation first waits
    /// for it instead of rebuilding from a million rows (seconds, on a pooled connection).
    writers: AtomicUsize,
    /// Ticket generations committed by those changes, announced as their patch begins.
    local: Mutex<Vec<i64>>,
    landed: Notify,
    /// Saves under way on the blocking pool ([`FactStore::flush`] waits for them).
    saves: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The database and generation of the newest file saved, so that a save finishing after
    /// a newer one does not put its older table back.
    saved: Arc<Mutex<Option<(String, i64)>>>,
}

/// Marks a change of tickets under way (see [`FactStore::writing`]); dropped when it is
/// done, patched or not.
pub struct Writing(Arc<FactStore>);

impl Drop for Writing {
    fn drop(&mut self) {
        if self.0.writers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0
                .local
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
        self.0.landed.notify_waiters();
    }
}

impl FactStore {
    pub fn new(data_dir: &Path) -> FactStore {
        FactStore {
            dir: data_dir.join("facts"),
            lock: tokio::sync::Mutex::new(()),
            memory: Mutex::new(None),
            writers: AtomicUsize::new(0),
            local: Mutex::new(Vec::new()),
            landed: Notify::new(),
            saves: Mutex::new(Vec::new()),
            saved: Arc::new(Mutex::new(None)),
        }
    }

    /// Waits for the saves under way: before a process that patched the copy exits, so that
    /// the next one finds the file current instead of rebuilding it from the database.
    pub async fn flush(&self) {
        let saves = std::mem::take(&mut *self.saves.lock().unwrap_or_else(|p| p.into_inner()));
        for save in saves {
            let _ = save.await;
        }
    }

    /// Whether ticket generation `generation` was committed by a change of this process that
    /// is still under way (its request has not answered yet). Waits briefly when such a change
    /// is under way but has not announced its generation yet.
    pub async fn committed_here(&self, generation: i64) -> bool {
        let asked = std::time::Instant::now();
        loop {
            if self.writers.load(Ordering::Acquire) == 0 {
                return false;
            }
            let landed = self.landed.notified();
            if self.is_local(generation) {
                return true;
            }
            let Some(left) = ANNOUNCE_WAIT.checked_sub(asked.elapsed()) else {
                return false;
            };
            let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), landed).await;
        }
    }

    fn is_local(&self, generation: i64) -> bool {
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        local.contains(&generation)
    }

    /// Announces a change of tickets that will patch this copy when it commits (an import, an
    /// assignment); hold the guard until the patch is done.
    pub fn writing(self: &Arc<Self>) -> Writing {
        self.writers.fetch_add(1, Ordering::AcqRel);
        Writing(self.clone())
    }

    fn path(&self, db: &str) -> PathBuf {
        path(&self.dir, db)
    }

    fn in_memory(&self, db: &str, generation: i64) -> Option<Arc<Table>> {
        let memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory
            .as_ref()
            .filter(|(id, t)| id == db && t.generation == generation)
            .map(|(_, t)| t.clone())
    }

    /// The table in memory if it is `db`'s at `generation`, taken out so that a patch can
    /// change it without copying it (a reader that needs it meanwhile waits for the patch).
    fn take_memory(&self, db: &str, generation: i64) -> Option<Arc<Table>> {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        match memory.as_ref() {
            Some((id, t)) if id == db && t.generation == generation => memory.take().map(|m| m.1),
            _ => None,
        }
    }

    fn remember(&self, db: &str, t: &Arc<Table>) {
        *self.memory.lock().unwrap_or_else(|p| p.into_inner()) = Some((db.to_string(), t.clone()));
    }

    /// The file's table if its generation is `generation`, read off the async workers.
    async fn read_file(&self, db: &str, generation: i64) -> Result<Option<Table>> {
        let path = self.path(db);
        let t = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path).ok()?;
            let len = file.metadata().ok()?.len();
            Table::read(&mut std::io::BufReader::new(file), len)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(t.filter(|t| t.generation == generation))
    }

    /// Saves `t` off the async workers (encoding and syncing 100 MB takes a while); a file
    /// that could not be written is removed, so nobody reads an old one. The file is a copy
    /// of what the database holds, and this process serves `t` from memory meanwhile: a patch
    /// does not wait for it (the import answers ~0.7 s sooner for a million tickets), a
    /// rebuild does.
    fn save_in_background(&self, db: &str, t: Arc<Table>) {
        let (dir, path, db) = (self.dir.clone(), self.path(db), db.to_string());
        let saved = Arc::clone(&self.saved);
        let save = tokio::task::spawn_blocking(move || {
            // Held for the whole save: saves land one at a time, and in generation order.
            let mut newest = saved.lock().unwrap_or_else(|p| p.into_inner());
            if matches!(&*newest, Some((id, g)) if *id == db && *g >= t.generation) {
                return;
            }
            match save(&dir, &path, &t) {
                Ok(()) => *newest = Some((db, t.generation)),
                Err(e) => {
                    tracing::warn!(error = %e, "could not save the ticket facts file");
                    let _ = std::fs::remove_file(&path);
                }
            }
        });
        let mut saves = self.saves.lock().unwrap_or_else(|p| p.into_inner());
        saves.retain(|s| !s.is_finished());
        saves.push(save);
    }

    /// The facts as of the database's current generation: from memory or the file when they
    /// are current, otherwise rebuilt from the tickets table (and saved for next time).
    pub async fn current(&self, conn: &mut Conn<'_>) -> Result<Arc<Table>> {
        let asked = std::time::Instant::now();
        loop {
            let (db, generation) = generation(conn).await?;
            if let Some(t) = self.in_memory(&db, generation) {
                return Ok(t);
            }
            // Created before looking, so a patch landing meanwhile is not missed.
            let landed = self.landed.notified();
            let guard = self.lock.lock().await;
            if let Some(t) = self.in_memory(&db, generation) {
                return Ok(t);
            }
            if let Some(t) = self.read_file(&db, generation).await? {
                let t = Arc::new(t);
                self.remember(&db, &t);
                return Ok(t);
            }
            if self.writers.load(Ordering::Acquire) > 0 && asked.elapsed() < PATCH_WAIT {
                drop(guard);
                let _ = tokio::time::timeout(Duration::from_millis(250), landed).await;
                continue;
            }
            let t = Arc::new(rebuild(conn, generation).await?);
            self.remember(&db, &t);
            self.save_in_background(&db, t.clone());
            self.flush().await;
            return Ok(t);
        }
    }

    /// After a committed change that moved the generation from `from` to `to`: patch the
    /// copy if it was current before the change, otherwise leave it to be rebuilt.
    pub async fn patch(&self, step: Step, change: impl FnOnce(&mut Table)) {
        let Step { db, from, to } = step;
        if self.writers.load(Ordering::Acquire) > 0 {
            self.local
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(to);
            self.landed.notify_waiters();
        }
        {
            let _guard = self.lock.lock().await;
            // Generation 1 is a database no ticket was ever written to (migration 0007).
            let current = match self.take_memory(&db, from) {
                Some(t) => Some(t),
                None => match self.read_file(&db, from).await {
                    Ok(Some(t)) => Some(Arc::new(t)),
                    _ => (from == 1).then(|| {
                        let mut empty = Table::default();
                        empty.generation = 1;
                        Arc::new(empty)
                    }),
                },
            };
            if let Some(t) = current {
                // Copied only when a computation still holds the old table.
                let mut t = Arc::unwrap_or_clone(t);
                change(&mut t);
                t.generation = to;
                let t = Arc::new(t);
                self.remember(&db, &t);
                self.save_in_background(&db, t);
            }
        }
        self.landed.notify_waiters();
    }
}

fn path(dir: &Path, db: &str) -> PathBuf {
    // The id comes from our own migration, but a file name takes only what is safe.
    let id: String = db.chars().filter(char::is_ascii_alphanumeric).collect();
    dir.join(format!("tickets-{id}.facts"))
}

/// Writes the file beside and renames it over, so a reader never sees half a file.
fn save(dir: &Path, path: &Path, t: &Table) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!(
        "tmp-{}-{}",
        std::process::id(),
        crate::secret::random_hex(4)
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&t.encode())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
