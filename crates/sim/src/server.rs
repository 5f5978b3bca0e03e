//! A simulated server (workers, FIFO queue, concurrency limit) and the requests in flight.

use crate::config::{ServerSpec, ServerState};
use std::collections::VecDeque;
use switchyard_balance::{OutcomeKind, Pick};

/// One server's state.
#[derive(Debug)]
pub(crate) struct Server {
    workers: u32,
    /// The spec's speed; `speed` differs from it during a [`ServerState::Speed`] episode.
    base_speed: f64,
    speed: f64,
    limit: Option<u32>,
    in_service: u32,
    queue: VecDeque<u32>,
    /// Answering every new request with a 503 after this many ns.
    pub sick_ns: Option<u64>,
    pub present: bool,
}

impl Server {
    pub fn new(spec: &ServerSpec) -> Self {
        Self {
            workers: spec.workers.max(1),
            base_speed: spec.speed,
            speed: spec.speed,
            limit: spec.limit,
            in_service: 0,
            queue: VecDeque::new(),
            sick_ns: None,
            present: true,
        }
    }

    /// Enters `state` (`None`: its normal self).
    pub fn set_state(&mut self, state: Option<ServerState>) {
        self.speed = self.base_speed;
        self.sick_ns = None;
        self.present = true;
        match state {
            None => {}
            Some(ServerState::Speed(speed)) => self.speed = speed,
            Some(ServerState::Sick { answer_after }) => {
                self.sick_ns = Some(u64::try_from(answer_after.as_nanos()).unwrap_or(u64::MAX));
            }
            Some(ServerState::Absent) => self.present = false,
        }
    }

    /// Whether a new request would exceed the concurrency limit (in service + queued).
    pub fn full(&self) -> bool {
        self.limit
            .is_some_and(|limit| self.in_service as usize + self.queue.len() >= limit as usize)
    }

    /// Takes request `id`: returns its speed if a worker starts it now, `None` if it queues.
    pub fn admit(&mut self, id: u32) -> Option<f64> {
        if self.in_service < self.workers {
            self.in_service += 1;
            Some(self.speed)
        } else {
            self.queue.push_back(id);
            None
        }
    }

    /// A request finished: the next queued one (and the speed) if a worker takes it.
    pub fn finish(&mut self) -> Option<(u32, f64)> {
        match self.queue.pop_front() {
            Some(next) => Some((next, self.speed)),
            None => {
                self.in_service -= 1;
                None
            }
        }
    }

    /// Busy workers / workers, as reported on responses.
    pub fn utilization(&self) -> f64 {
        f64::from(self.in_service) / f64::from(self.workers)
    }
}

/// A request between its pick and its response: the balancer's guard is held all along, or
/// until the balancer gives up on it (timeout; the server still does the work).
#[derive(Debug)]
pub(crate) struct Request {
    /// `None` once the balancer has given up on it.
    pub pick: Option<Pick>,
    /// Unique over the run (slab ids are reused): a deadline finds its own request.
    pub serial: u64,
    /// The balancer (front) that picked it.
    pub front: usize,
    /// The server it went to (endpoint indices differ from server indices while some are
    /// absent).
    pub server: usize,
    pub start_ns: u64,
    /// Service time on a speed-1 server, in seconds.
    pub work: f64,
    pub measured: bool,
    pub outcome: OutcomeKind,
    pub utilization: Option<f64>,
}

/// Requests in flight, by a reusable `u32` id (a slab with a free list).
#[derive(Debug, Default)]
pub(crate) struct Requests {
    slots: Vec<Option<Request>>,
    free: Vec<u32>,
}

impl Requests {
    pub fn insert(&mut self, request: Request) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(request);
                id
            }
            None => {
                self.slots.push(Some(request));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 requests in flight")
            }
        }
    }

    /// The live request `id` if it is the one numbered `serial`.
    pub fn live_serial(&mut self, id: u32, serial: u64) -> Option<&mut Request> {
        let slot = self.slots.get_mut(id as usize)?.as_mut()?;
        (slot.serial == serial).then_some(slot)
    }

    fn get(&mut self, id: u32) -> &mut Request {
        self.slots[id as usize].as_mut().expect("a live request")
    }

    /// The server the request was sent to.
    pub fn server(&self, id: u32) -> usize {
        let request = self.slots[id as usize].as_ref();
        request.expect("a live request").server
    }

    pub fn work(&self, id: u32) -> f64 {
        self.slots[id as usize]
            .as_ref()
            .expect("a live request")
            .work
    }

    /// The server's answer, carried back to the balancer.
    pub fn answer(&mut self, id: u32, outcome: OutcomeKind, utilization: f64) {
        let request = self.get(id);
        request.outcome = outcome;
        request.utilization = Some(utilization);
    }

    #[cfg(test)]
    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn remove(&mut self, id: u32) -> Request {
        let request = self.slots[id as usize].take().expect("a live request");
        self.free.push(id);
        request
    }
}
