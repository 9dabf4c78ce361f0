//! The Raft node: roles, elections, replication, commit, and the clients' requests.

use crate::log::{Entry, Log};
use crate::store::{Answer, Cas, Op, Read, Store, Txn, Write};
use maelstrom::{Context, ErrorBody, Init, MsgId, Node, Request, Time};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// How often the node looks at its clocks. Every timeout below is checked on this grain.
pub const TICK: Duration = Duration::from_millis(10);
/// A leader sends a peer an (empty) append after this long without sending it anything, so
/// followers know it is alive.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// A follower that has heard nothing from a leader for a random time between this and
/// twice this stands for election. Four heartbeats at least, so one lost heartbeat never
/// starts an election; randomized, so that two followers rarely stand at once.
pub const ELECTION_TIMEOUT: Duration = Duration::from_millis(400);
/// A leader that has not heard from a majority (itself included) for this long steps down:
/// it is on the minority side of a partition, and answering its clients at once (with a
/// definite error) beats letting them time out. The same window makes a node that heard
/// from a leader refuse to help an election (pre-vote), so a node coming back from a
/// partition cannot depose a working leader.
pub const LEADER_LEASE: Duration = ELECTION_TIMEOUT;
/// A request that arrives while no leader is known waits this long for one (an election
/// takes a few milliseconds once it starts), then is refused. Well under the clients' one
/// second.
pub const HOLD: Duration = Duration::from_millis(500);
/// How long a follower waits for the leader's answer to a forwarded request.
pub const FORWARD_TIMEOUT: Duration = Duration::from_millis(900);
/// At most this many entries in one append, so that catching up after a partition is
/// several messages of bounded size.
const MAX_ENTRIES: usize = 256;

/// Everything a Raft node receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A client reads a key.
    Read(Read),
    /// A client writes a key.
    Write(Write),
    /// A client compares and sets a key.
    Cas(Cas),
    /// A client's transaction.
    Txn(Txn),
    /// A follower hands a client's request to the leader, which answers it as the client's
    /// own (an [`Answer`] or an error).
    Forward {
        /// The request.
        op: Op,
        /// The sender cannot reach the leader and asks the receiver, which can, to pass the
        /// request on: one more hop.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        relay: bool,
    },
    /// A candidate asks for a vote; with `pre_vote`, only whether it would get one, changing
    /// nothing on the voter.
    RequestVote {
        /// The term the candidate stands in (its next term, for a pre-vote).
        term: u64,
        /// The index of the candidate's last entry.
        last_log_index: u64,
        /// The term of the candidate's last entry.
        last_log_term: u64,
        /// A pre-vote (Raft thesis §9.6).
        pre_vote: bool,
    },
    /// The answer to a `request_vote`.
    Vote {
        /// The term voted in if granted; else the voter's term.
        term: u64,
        /// Whether the vote is granted.
        granted: bool,
        /// Whether this answers a pre-vote.
        pre_vote: bool,
        /// Why a pre-vote is refused: the voter hears this leader.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leader: Option<String>,
    },
    /// The leader's entries for a follower, and its heartbeat.
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// The index of the entry before `entries`.
        prev_index: u64,
        /// Its term.
        prev_term: u64,
        /// The entries, in order.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: u64,
    },
    /// The answer to an `append_entries`.
    Appended {
        /// The follower's term.
        term: u64,
        /// Whether the follower held the previous entry and took the entries.
        success: bool,
        /// On success, the index up to which the follower matches the leader; on failure,
        /// where the leader should try next.
        index: u64,
    },
}

/// Timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Look at the clocks: heartbeats, elections, leases, held requests.
    Tick,
}

/// What an RPC brings back.
#[derive(Debug)]
pub enum Token {
    /// The leader's answer to a forwarded request, for the client.
    Forwarded {
        /// Who asked.
        client: Requester,
        /// The answer, or why there is none.
        result: Result<Answer, ErrorBody>,
    },
}

/// Whom to answer: a client, or the follower that forwarded its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    src: String,
    msg_id: Option<MsgId>,
}

/// A request this node put in its log as leader, answered once its index is committed.
#[derive(Debug)]
struct Proposal {
    /// The term it was appended in: if the committed entry at its index has another term,
    /// another leader's entry won the index and the request certainly did not happen.
    term: u64,
    requester: Requester,
}

/// How a request reached this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// From its client.
    Client,
    /// Forwarded by a follower that takes this node for the leader.
    Forwarded,
    /// From a follower that cannot reach the leader, to be passed on.
    Relayed,
}

/// A request waiting for a leader to be known.
#[derive(Debug)]
struct Held {
    requester: Requester,
    op: Op,
    until: Time,
}

/// What a leader knows of a follower.
#[derive(Debug, Clone)]
struct Progress {
    /// The next index to send.
    next: u64,
    /// The highest index known to match the leader's log.
    matched: u64,
    /// When anything was last sent to it.
    sent_at: Option<Time>,
    /// When it last answered an append in this term.
    heard_at: Option<Time>,
}

#[derive(Debug)]
enum Role {
    Follower,
    /// Asking for pre-votes for the next term; these granted so far (itself included).
    PreCandidate(BTreeSet<String>),
    /// Standing in the current term; these voted for it (itself included).
    Candidate(BTreeSet<String>),
    Leader {
        since: Time,
        peers: BTreeMap<String, Progress>,
    },
}

/// A Raft node serving `lin-kv` requests.
#[derive(Debug)]
pub struct RaftNode {
    id: String,
    peers: Vec<String>,
    majority: usize,
    term: u64,
    voted_for: Option<String>,
    role: Role,
    /// The leader of the current term, once heard from.
    leader: Option<String>,
    /// When a leader was last heard from (appends in its term).
    leader_heard_at: Option<Time>,
    /// A peer that hears a leader this node cannot (it said so, refusing a pre-vote), and
    /// until when to send requests through it. A partition can leave a node with links
    /// only to the leader's followers (Maelstrom's majorities ring); through them it can
    /// still be served.
    relay: Option<(String, Time)>,
    election_at: Time,
    log: Log,
    commit: u64,
    applied: u64,
    store: Store,
    proposals: BTreeMap<u64, Proposal>,
    held: VecDeque<Held>,
}

impl RaftNode {
    /// The current term.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// Whether this node is the leader of its term.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    /// The leader this node knows of, itself included.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The highest index known to be committed.
    pub fn commit_index(&self) -> u64 {
        self.commit
    }

    fn reset_election_timer(&mut self, ctx: &mut Context<Self>) {
        let base = ELECTION_TIMEOUT.as_millis() as u64;
        let after = Duration::from_millis(ctx.rng().gen_range(base..2 * base));
        self.election_at = ctx.now() + after;
    }

    /// Moves to `term` (if later) as a follower of no known leader yet.
    fn become_follower(&mut self, ctx: &mut Context<Self>, term: u64) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.leader = None;
        }
        if !matches!(self.role, Role::Follower) {
            self.role = Role::Follower;
            if self.leader.as_deref() == Some(self.id.as_str()) {
                self.leader = None;
            }
            self.reset_election_timer(ctx);
        }
    }

    fn request_votes(&mut self, ctx: &mut Context<Self>, term: u64, pre_vote: bool) {
        let request = Payload::RequestVote {
            term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            pre_vote,
        };
        for peer in &self.peers {
            ctx.send(peer, &request);
        }
    }

    /// First asks whether an election could be won, so that a node cut off from the
    /// majority does not keep raising its term and depose the leader when it comes back.
    fn start_pre_vote(&mut self, ctx: &mut Context<Self>) {
        tracing::debug!(term = self.term, "no leader heard: asking for pre-votes");
        self.leader = None;
        self.role = Role::PreCandidate(BTreeSet::from([self.id.clone()]));
        self.reset_election_timer(ctx);
        self.request_votes(ctx, self.term + 1, true);
        self.count_votes(ctx);
    }

    fn start_election(&mut self, ctx: &mut Context<Self>) {
        self.term += 1;
        self.voted_for = Some(self.id.clone());
        self.leader = None;
        self.role = Role::Candidate(BTreeSet::from([self.id.clone()]));
        tracing::debug!(term = self.term, "standing for election");
        self.reset_election_timer(ctx);
        self.request_votes(ctx, self.term, false);
        self.count_votes(ctx);
    }

    fn count_votes(&mut self, ctx: &mut Context<Self>) {
        match &self.role {
            Role::PreCandidate(votes) if votes.len() >= self.majority => self.start_election(ctx),
            Role::Candidate(votes) if votes.len() >= self.majority => self.become_leader(ctx),
            _ => {}
        }
    }

    fn become_leader(&mut self, ctx: &mut Context<Self>) {
        tracing::debug!(term = self.term, "elected");
        let next = self.log.last_index() + 1;
        let progress = Progress {
            next,
            matched: 0,
            sent_at: None,
            heard_at: None,
        };
        self.role = Role::Leader {
            since: ctx.now(),
            peers: self
                .peers
                .iter()
                .map(|p| (p.clone(), progress.clone()))
                .collect(),
        };
        self.leader = Some(self.id.clone());
        // Entries of earlier terms commit only with one of this term (Raft §5.4.2).
        self.append(ctx, None, None);
        self.release_held(ctx);
    }

    /// Appends to the leader's log (recording whom to answer once it commits) and sends the
    /// entry to every follower at once.
    fn append(&mut self, ctx: &mut Context<Self>, op: Option<Op>, requester: Option<Requester>) {
        let term = self.term;
        let index = self.log.push(Entry { term, op });
        if let Some(requester) = requester {
            self.proposals.insert(index, Proposal { term, requester });
        }
        for peer in self.peers.clone() {
            self.send_append(ctx, &peer);
        }
        self.advance_commit(ctx);
    }

    /// Sends `peer` everything from its next index (maybe nothing: a heartbeat), and expects
    /// it to be taken: the next append continues after it. A lost append is found out when
    /// the next one is refused.
    fn send_append(&mut self, ctx: &mut Context<Self>, peer: &str) {
        let Role::Leader { peers, .. } = &mut self.role else {
            return;
        };
        let Some(progress) = peers.get_mut(peer) else {
            return;
        };
        let prev_index = progress.next - 1;
        let entries = self.log.from(progress.next, MAX_ENTRIES).to_vec();
        progress.next += entries.len() as u64;
        progress.sent_at = Some(ctx.now());
        let append = Payload::AppendEntries {
            term: self.term,
            prev_index,
            prev_term: self.log.term_at(prev_index).unwrap_or(0),
            entries,
            commit: self.commit,
        };
        ctx.send(peer, &append);
    }

    /// Commits the highest index a majority holds, if it is of this term (Raft §5.4.2).
    fn advance_commit(&mut self, ctx: &mut Context<Self>) {
        let Role::Leader { peers, .. } = &self.role else {
            return;
        };
        let mut matched: Vec<u64> = peers.values().map(|p| p.matched).collect();
        matched.push(self.log.last_index());
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let majority_holds = matched[self.majority - 1];
        if majority_holds > self.commit && self.log.term_at(majority_holds) == Some(self.term) {
            self.commit = majority_holds;
            self.apply(ctx);
        }
    }

    /// Applies committed entries in order, answering the requests this node proposed.
    fn apply(&mut self, ctx: &mut Context<Self>) {
        while self.applied < self.commit {
            self.applied += 1;
            let Some(entry) = self.log.get(self.applied) else {
                tracing::error!(index = self.applied, "committed entry missing from the log");
                return;
            };
            let result = entry.op.as_ref().map(|op| self.store.apply(op));
            let term = entry.term;
            let Some(proposal) = self.proposals.remove(&self.applied) else {
                continue;
            };
            let outcome = match result {
                Some(result) if proposal.term == term => result,
                _ => Err(ErrorBody::temporarily_unavailable(format!(
                    "another leader's entry was committed at index {}: the request did not happen",
                    self.applied
                ))),
            };
            answer(ctx, &proposal.requester, outcome);
        }
    }

    /// Where a client's request goes from a follower: to the leader, or through a relay to
    /// it.
    fn route(&self, now: Time) -> Option<(&str, bool)> {
        if let Some(leader) = &self.leader {
            return Some((leader, false));
        }
        let (via, until) = self.relay.as_ref()?;
        (now < *until).then_some((via.as_str(), true))
    }

    /// A request: proposed if this node leads; else a client's is forwarded to the leader
    /// (directly or through a relay) or held until one is known, and a relayed one is passed
    /// on to the leader. Anything else is refused, definitely, since nothing was proposed.
    fn submit(&mut self, ctx: &mut Context<Self>, requester: Requester, op: Op, arrival: Arrival) {
        if self.is_leader() {
            self.append(ctx, Some(op), Some(requester));
            return;
        }
        match (arrival, self.route(ctx.now())) {
            (Arrival::Client, Some((to, relay))) => forward(ctx, to, relay, requester, op),
            (Arrival::Client, None) => self.held.push_back(Held {
                requester,
                op,
                until: ctx.now() + HOLD,
            }),
            (Arrival::Relayed, Some((leader, false))) => forward(ctx, leader, false, requester, op),
            (Arrival::Forwarded | Arrival::Relayed, _) => {
                let leader = self.leader.as_deref().unwrap_or("none known");
                let refusal = ErrorBody::temporarily_unavailable(format!(
                    "{} does not lead term {} (its leader: {leader})",
                    self.id, self.term
                ));
                answer(ctx, &requester, Err(refusal));
            }
        }
    }

    /// Sends held requests on, once there is somewhere to send them.
    fn release_held(&mut self, ctx: &mut Context<Self>) {
        if self.is_leader() || self.route(ctx.now()).is_some() {
            for held in std::mem::take(&mut self.held) {
                self.submit(ctx, held.requester, held.op, Arrival::Client);
            }
        }
    }

    fn on_request_vote(
        &mut self,
        ctx: &mut Context<Self>,
        src: &str,
        term: u64,
        last_log: (u64, u64),
        pre_vote: bool,
    ) {
        let up_to_date = self.log.up_to_date(last_log.0, last_log.1);
        if pre_vote {
            let heard_leader = self.is_leader()
                || self
                    .leader_heard_at
                    .is_some_and(|at| ctx.now() < at + LEADER_LEASE);
            let granted = term > self.term && up_to_date && !heard_leader;
            let vote = Payload::Vote {
                term: if granted { term } else { self.term },
                granted,
                pre_vote,
                leader: self.leader.clone().filter(|_| heard_leader),
            };
            ctx.send(src, &vote);
            return;
        }
        if term > self.term {
            self.become_follower(ctx, term);
        }
        let granted =
            term == self.term && self.voted_for.as_deref().is_none_or(|v| v == src) && up_to_date;
        if granted {
            self.voted_for = Some(src.to_owned());
            self.reset_election_timer(ctx);
        }
        let vote = Payload::Vote {
            term: self.term,
            granted,
            pre_vote,
            leader: None,
        };
        ctx.send(src, &vote);
    }

    fn on_vote(
        &mut self,
        ctx: &mut Context<Self>,
        src: &str,
        term: u64,
        (granted, pre_vote): (bool, bool),
        leader: Option<String>,
    ) {
        if term > self.term && !(pre_vote && granted) {
            self.become_follower(ctx, term);
            return;
        }
        if let Some(leader) = leader.filter(|l| *l != self.id && self.leader.is_none()) {
            tracing::debug!(
                via = src,
                leader,
                "the leader is out of reach: relaying through a peer"
            );
            self.relay = Some((src.to_owned(), ctx.now() + 2 * ELECTION_TIMEOUT));
            self.release_held(ctx);
        }
        let votes = match (&mut self.role, pre_vote) {
            (Role::PreCandidate(votes), true) if term == self.term + 1 => votes,
            (Role::Candidate(votes), false) if term == self.term => votes,
            _ => return,
        };
        if granted {
            votes.insert(src.to_owned());
            self.count_votes(ctx);
        }
    }

    fn on_append_entries(
        &mut self,
        ctx: &mut Context<Self>,
        src: &str,
        term: u64,
        prev: (u64, u64),
        entries: Vec<Entry>,
        leader_commit: u64,
    ) {
        if term < self.term {
            let refusal = Payload::Appended {
                term: self.term,
                success: false,
                index: 0,
            };
            ctx.send(src, &refusal);
            return;
        }
        self.become_follower(ctx, term);
        self.leader_heard_at = Some(ctx.now());
        self.reset_election_timer(ctx);
        if self.leader.is_none() {
            self.leader = Some(src.to_owned());
            self.release_held(ctx);
        }
        let reply = match self.log.accept(prev.0, prev.1, entries) {
            Ok(matched) => {
                // Only what is known to match the leader's log may be committed here.
                self.commit = self.commit.max(leader_commit.min(matched));
                self.apply(ctx);
                Payload::Appended {
                    term,
                    success: true,
                    index: matched,
                }
            }
            Err(retry_at) => Payload::Appended {
                term,
                success: false,
                index: retry_at,
            },
        };
        ctx.send(src, &reply);
    }

    fn on_appended(
        &mut self,
        ctx: &mut Context<Self>,
        src: &str,
        term: u64,
        success: bool,
        index: u64,
    ) {
        if term > self.term {
            self.become_follower(ctx, term);
            return;
        }
        let now = ctx.now();
        let Role::Leader { peers, .. } = &mut self.role else {
            return;
        };
        let Some(progress) = peers.get_mut(src).filter(|_| term == self.term) else {
            return;
        };
        progress.heard_at = Some(now);
        if success {
            progress.matched = progress.matched.max(index);
            progress.next = progress.next.max(progress.matched + 1);
            self.advance_commit(ctx);
        } else {
            progress.next = index.max(progress.matched + 1);
            self.send_append(ctx, src);
        }
    }

    fn on_tick(&mut self, ctx: &mut Context<Self>) {
        let now = ctx.now();
        while self.held.front().is_some_and(|h| h.until <= now) {
            if let Some(held) = self.held.pop_front() {
                let refusal = ErrorBody::temporarily_unavailable(format!(
                    "no leader known to {} for {} ms",
                    self.id,
                    HOLD.as_millis()
                ));
                answer(ctx, &held.requester, Err(refusal));
            }
        }
        let Role::Leader { since, peers } = &self.role else {
            if now >= self.election_at {
                self.start_pre_vote(ctx);
            }
            return;
        };
        let heard = peers
            .values()
            .filter(|p| p.heard_at.is_some_and(|at| now < at + LEADER_LEASE))
            .count();
        if heard + 1 < self.majority && now >= *since + LEADER_LEASE {
            tracing::info!(term = self.term, "no majority heard: stepping down");
            self.become_follower(ctx, self.term);
            return;
        }
        let idle: Vec<String> = peers
            .iter()
            .filter(|(_, p)| p.sent_at.is_none_or(|at| now >= at + HEARTBEAT))
            .map(|(id, _)| id.clone())
            .collect();
        for peer in idle {
            self.send_append(ctx, &peer);
        }
    }
}

fn answer(ctx: &mut Context<RaftNode>, to: &Requester, outcome: Result<Answer, ErrorBody>) {
    match outcome {
        Ok(answer) => ctx.reply_to(&to.src, to.msg_id, &answer),
        Err(error) => ctx.reply_error(&to.src, to.msg_id, &error),
    }
}

fn forward(ctx: &mut Context<RaftNode>, to: &str, relay: bool, client: Requester, op: Op) {
    ctx.rpc(
        to,
        &Payload::Forward { op, relay },
        FORWARD_TIMEOUT,
        move |result| Token::Forwarded { client, result },
    );
}

impl Node for RaftNode {
    type Payload = Payload;
    type Timer = Timer;
    type Token = Token;

    fn from_init(init: &Init, ctx: &mut Context<Self>) -> Self {
        ctx.set_timer(TICK, Timer::Tick);
        let peers: Vec<String> = ctx.peers().map(str::to_owned).collect();
        let cluster_size = peers.len() + 1;
        let mut node = RaftNode {
            id: init.node_id.clone(),
            // More than half of the cluster, this node included.
            majority: cluster_size / 2 + 1,
            peers,
            term: 0,
            voted_for: None,
            role: Role::Follower,
            leader: None,
            leader_heard_at: None,
            relay: None,
            election_at: ctx.now(),
            log: Log::default(),
            commit: 0,
            applied: 0,
            store: Store::default(),
            proposals: BTreeMap::new(),
            held: VecDeque::new(),
        };
        node.reset_election_timer(ctx);
        node
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<Self>,
        request: Request<Payload>,
    ) -> Result<(), ErrorBody> {
        let src = request.src;
        let requester = Requester {
            src: src.clone(),
            msg_id: request.msg_id,
        };
        let client = Arrival::Client;
        match request.payload {
            Payload::Read(read) => self.submit(ctx, requester, Op::Read(read), client),
            Payload::Write(write) => self.submit(ctx, requester, Op::Write(write), client),
            Payload::Cas(cas) => self.submit(ctx, requester, Op::Cas(cas), client),
            Payload::Txn(txn) => self.submit(ctx, requester, Op::Txn(txn), client),
            Payload::Forward { op, relay } => {
                let arrival = if relay {
                    Arrival::Relayed
                } else {
                    Arrival::Forwarded
                };
                self.submit(ctx, requester, op, arrival)
            }
            Payload::RequestVote {
                term,
                last_log_index,
                last_log_term,
                pre_vote,
            } => self.on_request_vote(ctx, &src, term, (last_log_index, last_log_term), pre_vote),
            Payload::Vote {
                term,
                granted,
                pre_vote,
                leader,
            } => self.on_vote(ctx, &src, term, (granted, pre_vote), leader),
            Payload::AppendEntries {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
            } => self.on_append_entries(ctx, &src, term, (prev_index, prev_term), entries, commit),
            Payload::Appended {
                term,
                success,
                index,
            } => self.on_appended(ctx, &src, term, success, index),
        }
        Ok(())
    }

    fn on_timer(&mut self, ctx: &mut Context<Self>, Timer::Tick: Timer) {
        self.on_tick(ctx);
        ctx.set_timer(TICK, Timer::Tick);
    }

    fn on_reply(&mut self, ctx: &mut Context<Self>, token: Token) {
        let Token::Forwarded { client, result } = token;
        answer(ctx, &client, result);
    }
}
