//! The one way o365scan runs work in parallel: [`ordered`], a map over a
//! sequence of jobs made on the calling thread, done by a few workers, and
//! handed back on the calling thread in job order, so that the outcome is
//! the same bytes as one pass. Reading a file (batches of rows), writing the
//! timeline (chunks of rows) and reading several inputs use it; nothing
//! else in the product spawns worker threads.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, mpsc};

/// The cores this run may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// How [`ordered`] runs: how many workers, and how many jobs may be made
/// but not yet consumed (which bounds memory: each holds its input and,
/// once done, its result).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pool {
    pub workers: usize,
    pub ahead: usize,
}

/// Runs `work` over the jobs `produce` makes, on `pool.workers` threads,
/// and gives each result to `consume` in the order the jobs were made.
///
/// - `produce` runs on the calling thread and returns the next job, or
///   `None` at the end; it is handed a job already done, if one is spare,
///   so that its buffers are filled again rather than allocated (fresh
///   memory costs page faults, which are slow on a VM).
/// - `work` runs on a worker with that worker's own state (made once by
///   `new_state`), and is handed a result `consume` gave back, if one is
///   spare, for the same reason.
/// - `consume` runs on the calling thread, in job order; it may give the
///   result back for reuse.
///
/// The first error in job order ends the run: no later result is
/// consumed. An error from `produce` ends production; the jobs made before
/// it are still consumed, and their errors come first. A panic in `work`
/// is raised again on the calling thread.
pub(crate) fn ordered<J, R, S, E>(
    pool: Pool,
    mut produce: impl FnMut(Option<J>) -> Result<Option<J>, E>,
    new_state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &J, Option<R>) -> Result<R, E> + Sync,
    mut consume: impl FnMut(R) -> Result<Option<R>, E>,
) -> Result<(), E>
where
    J: Send,
    R: Send,
    E: Send,
{
    let workers = pool.workers.max(1);
    let ahead = pool.ahead.max(1);
    let (job_tx, job_rx) = mpsc::channel::<(usize, J)>();
    let (done_tx, done_rx) = mpsc::channel::<Done<J, R, E>>();
    let (spent_tx, spent_rx) = mpsc::channel::<R>();
    let (job_rx, spent_rx) = (Mutex::new(job_rx), Mutex::new(spent_rx));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (job_rx, spent_rx, done_tx) = (&job_rx, &spent_rx, done_tx.clone());
            let (new_state, work) = (&new_state, &work);
            scope.spawn(move || {
                let mut state = new_state();
                while let Ok(Ok((k, job))) = job_rx.lock().map(|rx| rx.recv()) {
                    let spent = spent_rx.lock().ok().and_then(|rx| rx.try_recv().ok());
                    // Caught, so that the calling thread is not left waiting
                    // for this job; raised again there.
                    let result =
                        panic::catch_unwind(AssertUnwindSafe(|| work(&mut state, &job, spent)));
                    if done_tx.send((k, job, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut order = InOrder {
            waiting: BTreeMap::new(),
            spare_jobs: Vec::new(),
            next: 0,
        };
        let mut made = 0;
        let mut producing = true;
        let mut stopped_producing = None;
        let outcome = loop {
            if producing && made - order.next < ahead {
                match produce(order.spare_jobs.pop()) {
                    Ok(Some(job)) => {
                        if job_tx.send((made, job)).is_err() {
                            break Ok(());
                        }
                        made += 1;
                    }
                    Ok(None) => producing = false,
                    Err(e) => {
                        stopped_producing = Some(e);
                        producing = false;
                    }
                }
                // Consume what is ready without waiting: results consumed
                // early free their memory early.
                for done in done_rx.try_iter() {
                    order.arrived(done);
                }
            } else if order.next == made {
                break Ok(());
            } else {
                // All workers gone while jobs are open cannot happen (they
                // stop only when the job channel closes), but it must not
                // hang: it ends the run.
                let Ok(done) = done_rx.recv() else {
                    break Ok(());
                };
                order.arrived(done);
            }
            if let Err(e) = order.consume_ready(&mut consume, &spent_tx) {
                break Err(e);
            }
        };
        // No more jobs: each worker finishes the one it holds and stops.
        drop(job_tx);
        outcome?;
        stopped_producing.map_or(Ok(()), Err)
    })
}

/// A job done: its number, the job itself (to be made again) and what the
/// worker returned or the panic it raised.
type Done<J, R, E> = (usize, J, std::thread::Result<Result<R, E>>);

/// Results that arrived before the ones ahead of them.
struct InOrder<J, R, E> {
    waiting: BTreeMap<usize, std::thread::Result<Result<R, E>>>,
    spare_jobs: Vec<J>,
    next: usize,
}

impl<J, R, E> InOrder<J, R, E> {
    fn arrived(&mut self, (k, job, result): Done<J, R, E>) {
        self.spare_jobs.push(job);
        self.waiting.insert(k, result);
    }

    fn consume_ready(
        &mut self,
        consume: &mut impl FnMut(R) -> Result<Option<R>, E>,
        spent: &mpsc::Sender<R>,
    ) -> Result<(), E> {
        while let Some(result) = self.waiting.remove(&self.next) {
            self.next += 1;
            let result = result.unwrap_or_else(|payload| panic::resume_unwind(payload))?;
            if let Some(back) = consume(result)? {
                let _ = spent.send(back);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squares(n: usize, pool: Pool) -> Result<Vec<usize>, String> {
        let mut next = 0;
        let mut out = Vec::new();
        ordered(
            pool,
            |_| {
                next += 1;
                Ok((next <= n).then_some(next))
            },
            || (),
            |_, &j: &usize, _| {
                // Later jobs finish first, so order comes from the helper.
                std::thread::sleep(std::time::Duration::from_micros(((n - j) % 7) as u64 * 50));
                if j == 0 {
                    Err("zero".to_string())
                } else {
                    Ok(j * j)
                }
            },
            |r| {
                out.push(r);
                Ok(None)
            },
        )?;
        Ok(out)
    }

    #[test]
    fn results_arrive_in_job_order_whatever_the_pool() {
        let want: Vec<usize> = (1..=200).map(|j| j * j).collect();
        for (workers, ahead) in [(1, 1), (2, 1), (3, 4), (8, 64), (4, 1000)] {
            assert_eq!(squares(200, Pool { workers, ahead }), Ok(want.clone()));
        }
        assert_eq!(
            squares(
                0,
                Pool {
                    workers: 2,
                    ahead: 2
                }
            ),
            Ok(Vec::new())
        );
    }

    #[test]
    fn the_first_error_in_job_order_ends_the_run() {
        let mut consumed = Vec::new();
        let mut next = 0;
        let outcome = ordered(
            Pool {
                workers: 3,
                ahead: 6,
            },
            |_| {
                next += 1;
                match next {
                    9 => Err("read failed at job 9".to_string()),
                    n => Ok(Some(n)),
                }
            },
            || (),
            |_, &j: &usize, _| {
                if j == 5 || j == 7 {
                    Err(format!("job {j}"))
                } else {
                    Ok(j)
                }
            },
            |r| {
                consumed.push(r);
                Ok(None)
            },
        );
        assert_eq!(outcome, Err("job 5".to_string()));
        assert_eq!(consumed, [1, 2, 3, 4]);

        let mut next = 0;
        let outcome = ordered(
            Pool {
                workers: 2,
                ahead: 2,
            },
            |_| {
                next += 1;
                if next == 4 {
                    Err("read failed".to_string())
                } else {
                    Ok(Some(next))
                }
            },
            || (),
            |_, &j: &usize, _| Ok::<_, String>(j),
            |_| Ok(None),
        );
        assert_eq!(outcome, Err("read failed".to_string()));
    }

    #[test]
    fn spare_jobs_and_results_are_handed_back() {
        let (mut made, mut reused_jobs) = (0, 0);
        let reused_results = std::sync::atomic::AtomicUsize::new(0);
        ordered(
            Pool {
                workers: 2,
                ahead: 3,
            },
            |spare: Option<Vec<u8>>| {
                reused_jobs += usize::from(spare.is_some());
                made += 1;
                Ok::<_, ()>((made <= 50).then(|| spare.unwrap_or_default()))
            },
            || (),
            |_, _, spent: Option<String>| {
                if spent.is_some() {
                    reused_results.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(spent.unwrap_or_default())
            },
            |r| Ok(Some(r)),
        )
        .unwrap();
        assert!(reused_jobs > 0);
        assert!(reused_results.into_inner() > 0);
    }

    #[test]
    #[should_panic(expected = "worker bug")]
    fn a_panic_in_a_worker_is_raised_on_the_caller() {
        let mut next = 0;
        let _ = ordered(
            Pool {
                workers: 2,
                ahead: 4,
            },
            |_| {
                next += 1;
                Ok::<_, ()>((next <= 10).then_some(next))
            },
            || (),
            |_, &j: &usize, _| if j == 3 { panic!("worker bug") } else { Ok(j) },
            |_| Ok(None),
        );
    }
}
