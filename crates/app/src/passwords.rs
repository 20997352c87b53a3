//! Password hashing (argon2id) on a fixed pool of worker threads, so a burst of logins costs at
//! most `workers` × 19 MiB and `workers` cores, never a thread (and a retained malloc arena) per
//! request. Each worker keeps its argon2 memory between jobs; beyond the short queue the answer
//! is "busy, retry" (503) at once, never an unbounded wait.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use tokio::sync::oneshot;

use crate::{Error, StoreError};

/// argon2id with OWASP's first recommended setting: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const OUTPUT_LEN: usize = 32;
/// A stored hash asking for more memory than this is refused rather than computed (the hashes
/// are ours; a larger cost can only come from a tampered row).
const MAX_MEMORY_KIB: u32 = 256 * 1024;

fn params() -> Params {
    Params::new(MEMORY_KIB, PASSES, 1, Some(OUTPUT_LEN)).unwrap_or_default()
}

/// One job: runs on a worker with that worker's argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The workers and their queue. Dropping the last handle lets the workers finish and exit.
pub struct PasswordPool {
    jobs: SyncSender<Job>,
}

impl PasswordPool {
    /// `workers` threads (at least one) and room for `queue` more jobs waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        let (jobs, waiting) = sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..workers.max(1) {
            let waiting = waiting.clone();
            let spawned = std::thread::Builder::new().name(format!("password-{n}")).spawn(move || work(&waiting));
            if let Err(err) = spawned {
                tracing::error!(error = %err, "password worker could not start");
            }
        }
        Self { jobs }
    }

    /// One worker per core but one, so a burst of logins leaves a core to everyone else's pages
    /// (measured: with every core hashing, other pages' p99 quadrupled), each with 16 jobs'
    /// worth of queue (a job takes tens of milliseconds).
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let workers = cores.saturating_sub(1).max(1);
        Self::new(workers, workers * 16)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(job(memory));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                metrics::counter!("sealdesk_password_busy_total").increment(1);
                return Err(busy());
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(StoreError::Other("password workers are gone".into()).into());
            }
        }
        answer.await.map_err(|_| Error::from(StoreError::Other("password job ended without an answer".into())))
    }

    /// Hashes a password with argon2id and a fresh random salt, as a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, Error> {
        self.run(move |memory| hash_with(memory, password.as_bytes()))
            .await?
            .map_err(|e| StoreError::Other(format!("password hashing failed: {e}")).into())
    }

    /// Checks a password against a stored hash. With `None` it still does the full work, so
    /// unknown accounts take as long as known ones. Busy is an error, never a "wrong password".
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Error> {
        self.run(move |memory| {
            if let Some(hash) = hash {
                verify_with(memory, password.as_bytes(), &hash)
            } else {
                let _ = hash_with(memory, password.as_bytes());
                false
            }
        })
        .await
    }
}

fn busy() -> Error {
    Error::Unavailable { code: "busy", message: "系统繁忙，请稍后再试".into() }
}

fn work(waiting: &Mutex<Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let Ok(next) = waiting.lock().map(|queue| queue.recv()) else { return };
        let Ok(job) = next else { return };
        job(&mut memory);
    }
}

/// The first `blocks` blocks of the worker's memory, grown once when a job needs more.
fn memory_for(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    &mut memory[..blocks]
}

fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, String> {
    let params = params();
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, memory_for(memory, params.block_count()))
        .map_err(|e| e.to_string())?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(hash.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash.as_ref()) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm.as_str()), Params::try_from(&hash)) else {
        return false;
    };
    let version = hash.version.map_or(Ok(Version::default()), Version::try_from);
    let Ok(version) = version else { return false };
    if params.m_cost() > MAX_MEMORY_KIB {
        tracing::error!("stored password hash asks for more memory than any hash we make");
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    if Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, &salt, &mut out, memory_for(memory, blocks))
        .is_err()
    {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == *expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_cost_and_unique_salts() {
        let pool = PasswordPool::new(1, 4);
        let a = pool.hash("correct horse battery".into()).await.unwrap();
        let b = pool.hash("correct horse battery".into()).await.unwrap();
        assert_ne!(a, b, "salts must differ");
        for hash in [&a, &b] {
            let parsed = PasswordHash::new(hash).unwrap();
            assert_eq!(parsed.algorithm.as_str(), "argon2id");
            let params = Params::try_from(&parsed).unwrap();
            assert!(params.m_cost() >= 19 * 1024 && params.t_cost() >= 2, "{hash}");
            // The reference implementation agrees with what the pool computed.
            assert!(Argon2::default().verify_password(b"correct horse battery", hash.as_str()).is_ok());
        }
        assert!(pool.verify("correct horse battery".into(), Some(a.clone())).await.unwrap());
        assert!(!pool.verify("correct horse batterx".into(), Some(a)).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_made_elsewhere_with_other_costs_verify() {
        use argon2::password_hash::PasswordHasher;
        let pool = PasswordPool::new(1, 4);
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8 * 1024, 3, 1, None).unwrap());
        let hash = small.hash_password(b"an older hash").unwrap().to_string();
        assert!(pool.verify("an older hash".into(), Some(hash.clone())).await.unwrap());
        assert!(!pool.verify("an older hasH".into(), Some(hash)).await.unwrap());
        assert!(!pool.verify("x".into(), Some("not a phc string".into())).await.unwrap());
    }

    #[tokio::test]
    async fn long_passwords_are_not_truncated() {
        let pool = PasswordPool::new(1, 4);
        let long: String = "长密 码🐼".repeat(20);
        assert_eq!(long.chars().count(), 100);
        let hash = pool.hash(long.clone()).await.unwrap();
        assert!(pool.verify(long.clone(), Some(hash.clone())).await.unwrap());
        let truncated: String = long.chars().take(72).collect();
        assert!(!pool.verify(truncated, Some(hash.clone())).await.unwrap());
        let first_72_bytes = String::from_utf8_lossy(&long.as_bytes()[..72]).into_owned();
        assert!(!pool.verify(first_72_bytes, Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let pool = PasswordPool::new(1, 4);
        assert!(!pool.verify("dummy password".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn beyond_the_queue_the_answer_is_busy_at_once() {
        let pool = PasswordPool::new(1, 1);
        let attempt = |n: u32| pool.verify(format!("password {n}"), None);
        // Polled together, as concurrent requests arrive.
        let answers = tokio::join!(attempt(0), attempt(1), attempt(2), attempt(3), attempt(4), attempt(5));
        let answers = [answers.0, answers.1, answers.2, answers.3, answers.4, answers.5];
        let busy = answers.iter().filter(|a| matches!(a, Err(Error::Unavailable { code: "busy", .. }))).count();
        let done = answers.iter().filter(|a| matches!(a, Ok(false))).count();
        assert_eq!(busy + done, 6, "{answers:?}");
        assert!(busy >= 4, "one running and one waiting at most: {answers:?}");
        assert!(done >= 1, "{answers:?}");
        // Once the burst is over, the pool answers again.
        assert!(pool.verify("again".into(), None).await.is_ok());
    }
}
