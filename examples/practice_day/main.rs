//! One working day at a practice of 10,000 patients, through `Practice`
//! only, on an embedded SQLite file: the 07:00 release of ringfenced slots,
//! the 08:00 rush (hundreds of patients online and receptionists on the
//! telephone booking the same sessions at once), proxies, repeat medicines
//! approved and issued, messages, cancellations and reschedules, a coercion
//! concern and a linkage key. It ends with the summary a practice manager
//! wants and writes it, with charts, to `practice-day.html`.
//!
//! Run with `cargo run --release --example practice_day`
//! (`-- --help` for the options: `--db PATH`, `--in-memory`,
//! `--patients N`, `--seed S`). The same seed gives the same figures.

pub(crate) mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use gp_access::{
    ApplicationVerdict, By, CareHome, Competency, ConcernOutcome, Designation,
    IdentityVerification, LegalBasis, ListedPatient, PatientList, ProxyApplicationInput,
    Registration, RegistrationKind, SeenAlone, Service, StaffProfile, VerificationMethod,
};
use gp_audit::AuditStore;
use gp_booking::{
    BookRequest, BookingPolicy, BookingSettings, BookingStore, CancelRequest, CancellationReason,
    DeliveryMode, PracticeSlotType, ReleaseSchedule, RescheduleRequest, Reservation, Schedule,
    SearchQuery, SessionTemplate, Slot, SlotAvailability, SlotType, StaffMember,
};
use gp_core::{
    local_date, local_to_utc, to_local, Actor, BookingId, Channel, Clock, FixedClock, MedicationId,
    OdsCode, PatientId, ProxyId, RandomSource, RandomUnavailable, Reason, SequentialIds, SlotId,
    StaffId, StaffRole,
};
use gp_messaging::{InboxMove, MessageAction, NewMessage};
use gp_online::{Answer, Practice, PrescriberMove, Refused};
use gp_prescribing::{LineAction, OrderRequest, RequestChannel};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{nhs_number, repeat_item};
use indicatif::{ProgressBar, ProgressStyle};

use report::Tally;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Door = Practice<SqliteStore, FixedClock>;

const USAGE: &str = "\
A day at a practice, through `Practice`, on an embedded SQLite database.

Usage: cargo run --release --example practice_day -- [OPTIONS]

Options:
  --db PATH       the database file to create (default: practice-day.db here,
                  replaced if it exists; a PATH you name must not exist yet)
  --in-memory     keep the database in memory (nothing written but the report)
  --html PATH     where the report goes (default: practice-day.html here,
                  replaced if it exists, or PATH.html beside a --db PATH;
                  a report path other than the default must not exist yet)
  --patients N    patients on the practice's list (default 10000, at least 200)
  --seed S        the seed of the synthetic practice and day (default 1)
  --help          this text";

/// The options.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// The database file, or `None` for memory.
    pub(crate) db: Option<PathBuf>,
    /// Whether `db` is the default (replaced if it exists).
    pub(crate) default_db: bool,
    /// Patients on the list.
    pub(crate) patients: usize,
    /// The seed of the day.
    pub(crate) seed: u64,
    /// Where the HTML report goes (default: beside the database).
    pub(crate) html: Option<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        db: Some(PathBuf::from("practice-day.db")),
        default_db: true,
        patients: 10_000,
        seed: 1,
        html: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--db" => {
                let v = value("--db")?;
                if v.is_empty() || v.starts_with("--") {
                    return Err("--db needs a path".into());
                }
                out.db = Some(PathBuf::from(v));
                out.default_db = false;
            }
            "--html" => {
                let v = value("--html")?;
                if v.is_empty() || v.starts_with("--") {
                    return Err("--html needs a path".into());
                }
                out.html = Some(PathBuf::from(v));
            }
            "--in-memory" => out.db = None,
            "--patients" => {
                let v = value("--patients")?;
                out.patients = v
                    .parse()
                    .ok()
                    .filter(|n| (200..=200_000).contains(n))
                    .ok_or(format!(
                        "--patients takes a number from 200 to 200000, not {v:?}"
                    ))?;
            }
            "--seed" => {
                let v = value("--seed")?;
                out.seed = v
                    .parse()
                    .map_err(|_| format!("--seed takes a whole number, not {v:?}"))?;
            }
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(out)
}

/// The day's random choices: SplitMix64, so the same seed makes the same day.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Linkage keys drawn from the seed, so a replayed day issues the same keys.
/// (A real deployment keeps `OsRandom`, the default.)
struct SeededRandom(Mutex<Rng>);

impl RandomSource for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomUnavailable> {
        let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for b in buf.iter_mut() {
            *b = (rng.next() & 0xff) as u8;
        }
        Ok(())
    }
}

/// One patient of the synthetic list.
#[derive(Debug, Clone)]
struct Person {
    id: PatientId,
    nhs: usize,
    born: NaiveDate,
    kind: RegistrationKind,
    online: bool,
    items: Vec<MedicationId>,
}

impl Person {
    fn age(&self, on: NaiveDate) -> i32 {
        let mut years = on.year() - self.born.year();
        if (on.month(), on.day()) < (self.born.month(), self.born.day()) {
            years -= 1;
        }
        years
    }
}

/// England's list by age band (share of patients, youngest and oldest age).
const AGE_BANDS: [(f64, i32, i32); 8] = [
    (0.05, 0, 4),
    (0.12, 5, 15),
    (0.10, 16, 24),
    (0.27, 25, 44),
    (0.25, 45, 64),
    (0.11, 65, 74),
    (0.07, 75, 84),
    (0.03, 85, 99),
];

fn at(date: NaiveDate, h: u32, m: u32) -> Result<DateTime<Utc>, Error> {
    let time = NaiveTime::from_hms_opt(h, m, 0).ok_or("a valid time")?;
    Ok(local_to_utc(date, time)?)
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
}

fn channel_name(by: &By) -> &'static str {
    match (by.actor, by.channel) {
        (Actor::Proxy { .. }, _) => "proxy",
        (_, Channel::Online) => "online",
        (_, Channel::Telephone) => "telephone",
        _ => "reception",
    }
}

/// The practice, its people and what the day has counted.
struct Day {
    practice: Arc<Door>,
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    rng: Rng,
    today: NaiveDate,
    people: Vec<Person>,
    /// Parent proxies: (parent, child index).
    parents: Vec<(ProxyId, usize)>,
    /// Care-home workers and the residents they order for.
    carers: Vec<(ProxyId, Vec<usize>)>,
    /// A partner whose access a receptionist will raise a concern about.
    partner: Option<(ProxyId, usize)>,
    gp: By,
    desks: Vec<By>,
    tally: Tally,
    /// Bookings made today, by patient index: (booking, slot start).
    held: BTreeMap<usize, Vec<(BookingId, DateTime<Utc>)>>,
}

impl Day {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn set(&self, h: u32, m: u32) -> Result<(), Error> {
        self.clock.set(at(self.today, h, m)?);
        Ok(())
    }

    fn hour(&self) -> u32 {
        to_local(self.now()).hour()
    }

    fn desk(&mut self) -> By {
        let i = self.rng.below(self.desks.len());
        self.desks[i]
    }

    fn refused<T>(&mut self, answer: &Answer<T, Refused>) -> bool {
        match answer {
            Answer::Done(_) => false,
            Answer::Refused(r) => {
                self.tally.refusal(r.code());
                true
            }
        }
    }

    /// A patient (by index) registered online, chosen at random.
    fn online_person(&mut self, pred: impl Fn(&Person) -> bool) -> Option<usize> {
        let today = self.today;
        let candidates: Vec<usize> = (0..self.people.len())
            .filter(|&i| self.people[i].online && self.people[i].age(today) >= 16)
            .filter(|&i| pred(&self.people[i]))
            .collect();
        (!candidates.is_empty()).then(|| candidates[self.rng.below(candidates.len())])
    }

    async fn search(&mut self, by: &By, who: usize, days: i64) -> Result<Vec<Slot>, Error> {
        let now = self.now();
        let query = SearchQuery::between(now, now + Duration::days(days));
        self.tally.searches += 1;
        let answer = self.practice.search(by, self.people[who].id, query).await?;
        if self.refused(&answer) {
            return Ok(Vec::new());
        }
        Ok(answer.done().unwrap_or_default())
    }

    async fn book(&mut self, by: &By, who: usize, slot: &Slot) -> Result<bool, Error> {
        let request = BookRequest {
            actor: by.actor,
            channel: by.channel,
            patient: self.people[who].id,
            slot: slot.id,
            description: None,
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: Vec::new(),
        };
        let answer = self.practice.book(&request).await?;
        if self.refused(&answer) {
            return Ok(false);
        }
        if let Answer::Done(b) = answer {
            let hour = self.hour();
            self.tally.booking(hour, channel_name(by));
            self.held.entry(who).or_default().push((b.id, slot.start()));
        }
        Ok(true)
    }

    /// A patient (or the proxy `by`) searches and books one of what is offered.
    async fn search_and_book(&mut self, by: &By, who: usize) -> Result<(), Error> {
        let found = self.search(by, who, 14).await?;
        if !found.is_empty() {
            let pick = self.rng.below(found.len().min(40));
            let slot = found[pick].clone();
            self.book(by, who, &slot).await?;
        }
        Ok(())
    }

    async fn staff_books(&mut self, channel: Channel) -> Result<(), Error> {
        let who = self.rng.below(self.people.len());
        let desk = By {
            channel,
            ..self.desk()
        };
        // Staff see every free slot, urgent and reserved ones included.
        let found = self.search(&desk, who, 3).await?;
        if !found.is_empty() {
            let slot = found[self.rng.below(found.len().min(20))].clone();
            self.book(&desk, who, &slot).await?;
        }
        Ok(())
    }

    /// A patient cancels an appointment still to come (by telephone if
    /// they have no online account).
    async fn cancel_one(&mut self) -> Result<(), Error> {
        let now = self.now();
        let holders: Vec<usize> = self
            .held
            .iter()
            .filter(|(_, v)| v.iter().any(|(_, start)| *start > now))
            .map(|(w, _)| *w)
            .collect();
        if holders.is_empty() {
            return Ok(());
        }
        let who = holders[self.rng.below(holders.len())];
        let Some((booking, _)) = self
            .held
            .get(&who)
            .and_then(|v| v.iter().find(|(_, start)| *start > now))
            .copied()
        else {
            return Ok(());
        };
        let by = if self.people[who].online {
            By::patient_online(self.people[who].id)
        } else {
            self.desk()
        };
        let request = CancelRequest {
            actor: by.actor,
            channel: by.channel,
            booking,
            reason: CancellationReason::parse("No longer needed")?,
            version: None,
        };
        let answer = self.practice.cancel(&request).await?;
        if !self.refused(&answer) {
            self.tally.cancelled += 1;
            if let Some(v) = self.held.get_mut(&who) {
                v.retain(|(b, _)| *b != booking);
            }
        }
        Ok(())
    }

    async fn reschedule_one(&mut self) -> Result<(), Error> {
        let holders: Vec<usize> = self
            .held
            .iter()
            .filter(|(w, v)| !v.is_empty() && self.people[**w].online)
            .map(|(w, _)| *w)
            .collect();
        if holders.is_empty() {
            return Ok(());
        }
        let who = holders[self.rng.below(holders.len())];
        let Some((booking, _)) = self.held.get(&who).and_then(|v| v.first()).copied() else {
            return Ok(());
        };
        let by = By::patient_online(self.people[who].id);
        let found = self.search(&by, who, 14).await?;
        if found.is_empty() {
            return Ok(());
        }
        let slot = found[self.rng.below(found.len().min(40))].clone();
        let request = RescheduleRequest {
            actor: by.actor,
            channel: by.channel,
            booking,
            new_slot: slot.id,
            reason: CancellationReason::parse("A better time")?,
            holding_limit_override: None,
        };
        let answer = self.practice.reschedule(&request).await?;
        if let Answer::Done(b) = &answer {
            self.tally.rescheduled += 1;
            if let Some(v) = self.held.get_mut(&who) {
                v.retain(|(x, _)| *x != booking);
                v.push((b.id, slot.start()));
            }
        }
        self.refused(&answer);
        Ok(())
    }

    async fn order(&mut self, by: &By, who: usize, channel: RequestChannel) -> Result<(), Error> {
        let items = self.people[who].items.clone();
        if items.is_empty() {
            return Ok(());
        }
        let request = OrderRequest::new(by.actor, channel, self.people[who].id, items, None)?;
        match self.practice.order(&request).await? {
            Answer::Done(ordered) => {
                self.tally.repeat("ordered", ordered.request.lines.len());
                self.tally.repeat("refused", ordered.refused.len());
                for r in &ordered.refused {
                    self.tally.refusal(r.reason.code());
                }
            }
            Answer::Refused(r) => {
                self.tally.refusal(r.code());
                self.tally.repeat("refused", 1);
            }
        }
        Ok(())
    }

    /// The GP works through the prescription queue: approve (one in twenty
    /// rejected with a reason), then issue.
    async fn prescribing_session(&mut self) -> Result<(), Error> {
        let gp = self.gp;
        let queue = self
            .practice
            .prescription_queue(&gp)
            .await?
            .done()
            .unwrap_or_default();
        for request in queue {
            for line in &request.lines {
                let action = LineAction {
                    actor: gp.actor,
                    channel: gp.channel,
                    patient: request.patient,
                    request: request.id,
                    item: line.item,
                };
                let reject = self.rng.below(20) == 0;
                let first = if reject {
                    PrescriberMove::Reject("Please book a medication review first".into())
                } else {
                    PrescriberMove::Approve
                };
                let answer = self.practice.prescriber_move(&action, &first).await?;
                if self.refused(&answer) {
                    continue;
                }
                if reject {
                    self.tally.repeat("rejected", 1);
                    continue;
                }
                self.tally.repeat("approved", 1);
                let issued = self
                    .practice
                    .prescriber_move(&action, &PrescriberMove::Issue)
                    .await?;
                if !self.refused(&issued) {
                    self.tally.repeat("issued", 1);
                }
            }
        }
        Ok(())
    }

    async fn send_message(&mut self) -> Result<(), Error> {
        let Some(who) = self.online_person(|_| true) else {
            return Ok(());
        };
        let message = NewMessage::new(
            Actor::Patient {
                patient: self.people[who].id,
            },
            Channel::Online,
            self.people[who].id,
            "A question",
            "Could the practice tell me whether my test results are back?",
            None,
        )?;
        let answer = self.practice.send(&message).await?;
        if !self.refused(&answer) {
            self.tally.message("sent");
        }
        Ok(())
    }

    async fn work_the_inbox(&mut self) -> Result<(), Error> {
        let desk = self.desk();
        let inbox = self.practice.inbox(&desk).await?.done().unwrap_or_default();
        for m in inbox
            .into_iter()
            .filter(|m| m.state == gp_messaging::InboxState::Unread)
        {
            let action = MessageAction {
                actor: desk.actor,
                channel: desk.channel,
                message: m.id,
            };
            if self.rng.chance(0.5) {
                let answer = self
                    .practice
                    .reply(
                        &action,
                        "Your results are back and normal; no action needed.",
                    )
                    .await?;
                if !self.refused(&answer) {
                    self.tally.message("replied");
                }
            } else {
                let answer = self
                    .practice
                    .mark_message(&action, InboxMove::Handled)
                    .await?;
                if !self.refused(&answer) {
                    self.tally.message("handled");
                }
            }
        }
        Ok(())
    }
}

/// Weekly sessions for six GPs, two nurses and a healthcare assistant.
fn templates(
    gps: &[StaffMember],
    nurses: &[StaffMember],
    hca: &StaffMember,
) -> Vec<SessionTemplate> {
    let t = |who: &StaffMember,
             weekday,
             (start, end): (NaiveTime, NaiveTime),
             minutes,
             slot_type: SlotType,
             availability,
             reserved_for| SessionTemplate {
        site: None,
        clinician: who.id,
        role: who.role,
        weekday,
        start,
        end,
        slot_minutes: minutes,
        slot_type,
        delivery: DeliveryMode::InPerson,
        availability,
        reserved_for,
    };
    let open = SlotAvailability::Open;
    let mut out = Vec::new();
    for day in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        for (n, gp) in gps.iter().enumerate() {
            let routine = SlotType::RoutineGp;
            out.push(t(
                gp,
                day,
                (hm(8, 30), hm(11, 0)),
                10,
                routine.clone(),
                open,
                None,
            ));
            // The last morning hour is ringfenced: released online at 07:00 the day before.
            out.push(t(
                gp,
                day,
                (hm(11, 0), hm(12, 0)),
                10,
                routine.clone(),
                SlotAvailability::Ringfenced,
                None,
            ));
            out.push(t(
                gp,
                day,
                (hm(14, 0), hm(15, 0)),
                10,
                SlotType::Urgent,
                open,
                None,
            ));
            let triage = (n == 0).then_some(Reservation::TelephoneTriage);
            out.push(t(
                gp,
                day,
                (hm(15, 0), hm(17, 30)),
                10,
                routine,
                open,
                triage,
            ));
        }
        for (n, nurse) in nurses.iter().enumerate() {
            let clinic = match (day.num_days_from_monday() as usize + n) % 3 {
                0 => SlotType::CervicalSmear,
                1 => SlotType::DiabetesReview,
                _ => SlotType::FluVaccination,
            };
            out.push(t(
                nurse,
                day,
                (hm(9, 0), hm(12, 30)),
                15,
                clinic,
                open,
                None,
            ));
        }
        let blood = SlotType::Practice(
            PracticeSlotType::parse("Blood test")
                .unwrap_or_else(|_| unreachable!("a constant, valid slot type name")),
        );
        out.push(t(hca, day, (hm(8, 0), hm(10, 0)), 10, blood, open, None));
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            say(USAGE);
            return;
        }
        Err(e) => {
            eprintln!("practice_day: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await.map(drop) {
        eprintln!("practice_day: {e}");
        std::process::exit(1);
    }
}

/// Prints a line; a reader that has gone away (a closed pipe) is not an error.
fn say(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:<38} [{bar:30}] {pos:>6}/{len:6} {elapsed:>4}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Where the report goes, and whether it may replace a file there (only
/// the default name, which is ours).
fn report_path(args: &Args) -> (PathBuf, bool) {
    match (&args.html, &args.db) {
        (Some(html), _) => (html.clone(), false),
        (None, Some(db)) if !args.default_db => {
            let mut name = db.clone().into_os_string();
            name.push(".html");
            (PathBuf::from(name), false)
        }
        (None, _) => (PathBuf::from("practice-day.html"), true),
    }
}

async fn open(args: &Args) -> Result<(Arc<SqliteStore>, String), Error> {
    // Refuse before anything is made: a report that would replace a file
    // the user has, or the database itself.
    let (html, ours) = report_path(args);
    if !ours && std::fs::symlink_metadata(&html).is_ok() {
        return Err(format!(
            "{} exists; the report would replace it (name another with --html)",
            html.display()
        )
        .into());
    }
    if args.db.as_ref().is_some_and(|db| *db == html) {
        return Err("the report and the database cannot be the same file".into());
    }
    match &args.db {
        None => Ok((Arc::new(SqliteStore::open_in_memory()?), "in memory".into())),
        Some(path) => {
            if std::fs::symlink_metadata(path).is_ok() {
                if args.default_db {
                    for suffix in ["", "-wal", "-shm"] {
                        let mut p = path.clone().into_os_string();
                        p.push(suffix);
                        let _ = std::fs::remove_file(PathBuf::from(p));
                    }
                } else {
                    return Err(format!(
                        "{} exists; name a new file (the day starts from an empty practice)",
                        path.display()
                    )
                    .into());
                }
            }
            let store = SqliteStore::open(path)?;
            let shown = std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string();
            Ok((Arc::new(store), shown))
        }
    }
}

/// Runs `f` for each of `items` with up to 64 in flight, advancing `bar`.
async fn each<T, F, Fut>(items: Vec<T>, bar: &ProgressBar, f: F) -> Result<(), Error>
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for item in items {
        if set.len() >= 64 {
            if let Some(done) = set.join_next().await {
                done??;
                bar.inc(1);
            }
        }
        set.spawn(f(item));
    }
    while let Some(done) = set.join_next().await {
        done??;
        bar.inc(1);
    }
    Ok(())
}

/// Runs the day and prints its summary; answers with the figures.
pub(crate) async fn run(args: Args) -> Result<Tally, Error> {
    let started = Instant::now();
    let (store, shown) = open(&args).await?;
    let mut rng = Rng(args.seed);
    let ids = Arc::new(SequentialIds::new(args.seed));
    // The day is Monday 1 June 2026; the practice is set up the evening before.
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).ok_or("a date")?;
    let clock = Arc::new(FixedClock::new(at(today - Duration::days(1), 18, 0)?));
    let practice = Arc::new(Practice::with_sources(
        store.clone(),
        clock.clone(),
        Box::new(SequentialIds::new(args.seed.wrapping_add(1))),
        Box::new(SeededRandom(Mutex::new(Rng(args.seed ^ 0x5eed)))),
    ));
    say(&format!(
        "A day at the practice (seed {}), database: {shown}\n",
        args.seed
    ));

    // Staff: the manager, six GPs (one the lead), two nurses, an HCA and four receptionists.
    let staff =
        |name: String, role: StaffRole| StaffProfile::new(StaffId::new(ids.as_ref()), &name, role);
    let manager = staff("Pat Morgan".into(), StaffRole::PracticeManager);
    practice.first_manager(&manager).await?;
    let as_manager = By::staff(&manager, Channel::Reception);
    let mut gps = Vec::new();
    for n in 0..6 {
        let mut p = staff(
            format!(
                "Dr {}",
                ["Patel", "Okafor", "Evans", "Shah", "Byrne", "Kaur"][n]
            ),
            StaffRole::Gp,
        )
        .with_competencies([Competency::Prescribing, Competency::RecogniseCoercion]);
        if n == 0 {
            p.designations.insert(Designation::LeadGp);
        }
        practice.put_staff(&as_manager, &p).await?;
        gps.push(p);
    }
    let nurses: Vec<StaffProfile> = ["Nurse Hughes", "Nurse Ahmed"]
        .iter()
        .map(|n| staff((*n).into(), StaffRole::Nurse))
        .collect();
    let hca = staff("Sam Jones".into(), StaffRole::HealthcareAssistant);
    let mut desks = Vec::new();
    for name in ["Jo Reid", "Ali Khan", "Mo Price", "Viv Lee"] {
        let p = staff(name.into(), StaffRole::Receptionist).with_competencies([
            Competency::VerifyIdentity,
            Competency::ProxyApplications,
            Competency::RecogniseCoercion,
        ]);
        practice.put_staff(&as_manager, &p).await?;
        desks.push(By::staff(&p, Channel::Reception));
    }
    for p in nurses.iter().chain([&hca]) {
        practice.put_staff(&as_manager, p).await?;
    }
    let member = |p: &StaffProfile| {
        let mut m = StaffMember::new(p.staff, p.name.clone(), p.role);
        if p.role == StaffRole::Gp {
            // The GPs' SDS job role, as the practice records it.
            m.job_role = Some(gp_booking::JobRole {
                code: gp_booking::JobRoleCode::parse("R0260").expect("a job role code"),
                name: gp_booking::JobRoleName::parse("General Medical Practitioner")
                    .expect("a job role name"),
            });
        }
        m
    };
    let clinicians: Vec<StaffMember> = gps
        .iter()
        .chain(&nurses)
        .chain([&hca])
        .map(member)
        .collect();
    for c in &clinicians {
        store.put_staff(c).await?;
    }
    // Six weeks of sessions from today, as the clinical system publishes them.
    let schedule = Schedule::from_templates(
        &templates(&clinicians[..6], &clinicians[6..8], &clinicians[8]),
        today,
        today + Duration::days(41),
        ids.as_ref(),
    )?;
    store.add_schedule(&schedule).await?;
    // The practice's policy: ringfenced slots released at 07:00 the day before.
    let policy = BookingPolicy::new(BookingSettings {
        ringfence_release: ReleaseSchedule {
            days_ahead: 1,
            at: hm(7, 0),
        },
        ..BookingSettings::default()
    })?;
    practice.set_booking_policy(&as_manager, &policy).await?;

    // The list: an age profile like England's, ~8% temporary residents,
    // ~40% of patients registered for online services.
    let mut people = Vec::with_capacity(args.patients);
    for n in 0..args.patients {
        let mut pick = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        let band = AGE_BANDS
            .iter()
            .find(|(share, _, _)| {
                pick -= share;
                pick <= 0.0
            })
            .unwrap_or(&AGE_BANDS[7]);
        let age = band.1 + rng.below((band.2 - band.1 + 1) as usize) as i32;
        let born = today - Duration::days(i64::from(age) * 365 + rng.below(365) as i64 + 1);
        let kind = if rng.chance(0.08) {
            RegistrationKind::Temporary
        } else {
            RegistrationKind::Regular
        };
        let adult = age >= 16;
        people.push(Person {
            id: PatientId::new(ids.as_ref()),
            nhs: n,
            born,
            kind,
            online: adult && rng.chance(0.49),
            items: Vec::new(),
        });
    }
    let progress = bar(people.len(), "the practice's list");
    let list: Vec<ListedPatient> = people
        .iter()
        .map(|p| {
            ListedPatient::new(
                p.id,
                nhs_number(p.nhs as u64),
                p.born,
                p.kind,
                p.born.max(today - Duration::days(400)),
            )
        })
        .collect::<Result<_, _>>()?;
    each(list, &progress, |entry| {
        let store = store.clone();
        async move { Ok(store.put_listed_patient(&entry).await?) }
    })
    .await?;
    progress.finish();

    // Proxies: parents of a third of children under 11; residents of two care homes.
    let mut parents = Vec::new();
    let mut carers: Vec<(ProxyId, Vec<usize>)> = vec![
        (ProxyId::new(ids.as_ref()), Vec::new()),
        (ProxyId::new(ids.as_ref()), Vec::new()),
    ];
    for (i, p) in people.iter_mut().enumerate() {
        let age = p.age(today);
        if age < 11 && rng.chance(0.33) {
            parents.push((ProxyId::new(ids.as_ref()), i));
            p.online = true;
        } else if age >= 80 && rng.chance(0.12) {
            carers[i % 2].1.push(i);
            p.online = true;
        }
    }
    // One adult with a partner as proxy, seen with the partner in the room.
    let partner_of = people
        .iter()
        .position(|p| p.online && p.kind == RegistrationKind::Regular && p.age(today) >= 25)
        .ok_or("an adult registered online")?;
    let partner = (ProxyId::new(ids.as_ref()), partner_of);
    let desk = desks[0];
    let code = OdsCode::parse("A81001")?;
    let online: Vec<(PatientId, Registration)> = people
        .iter()
        .filter(|p| p.online)
        .map(|p| {
            (
                p.id,
                Registration {
                    nhs_number: nhs_number(p.nhs as u64),
                    date_of_birth: p.born,
                    registration: p.kind,
                    practice: code,
                },
            )
        })
        .collect();
    let registered = online.len();
    let progress = bar(registered, "online registrations (checked ID)");
    each(online, &progress, |(patient, registration)| {
        let practice = practice.clone();
        async move {
            practice.register(&desk, patient, &registration).await?;
            practice
                .verify_identity(&desk, patient, VerificationMethod::DocumentsSeen)
                .await?;
            practice
                .set_services(&desk, patient, &Service::ALL.into_iter().collect())
                .await?;
            Ok(())
        }
    })
    .await?;
    progress.finish();

    let identity = IdentityVerification {
        method: VerificationMethod::DocumentsSeen,
        verified_by: Some(match desk.actor {
            Actor::Staff { staff, .. } => staff,
            _ => StaffId::new(ids.as_ref()),
        }),
        at: clock.now(),
    };
    let application =
        |applicant, name: &str, basis, scopes: &[Service], care_home| ProxyApplicationInput {
            applicant,
            applicant_name: name.into(),
            applicant_identity: Some(identity),
            patient_identity_checked: true,
            basis,
            scopes: scopes.iter().copied().collect::<BTreeSet<_>>(),
            care_home,
        };
    let grant = ApplicationVerdict::Grant {
        start: today - Duration::days(1),
        end: None,
        review: None,
    };
    let mut applications: Vec<(PatientId, ProxyApplicationInput)> = parents
        .iter()
        .map(|(proxy, child)| {
            (
                people[*child].id,
                application(
                    *proxy,
                    "Parent",
                    LegalBasis::ParentalResponsibility,
                    &Service::ALL,
                    None,
                ),
            )
        })
        .collect();
    for (home, (worker, residents)) in carers.iter().enumerate() {
        let name = ["Elm Lodge", "Oak House"][home];
        for r in residents {
            applications.push((
                people[*r].id,
                application(
                    *worker,
                    &format!("Carer ({name})"),
                    LegalBasis::Consent {
                        seen_alone: SeenAlone::Yes,
                    },
                    &[Service::Appointments, Service::RepeatPrescriptions],
                    Some(CareHome {
                        name: name.into(),
                        ods: None,
                    }),
                ),
            ));
        }
    }
    applications.push((
        people[partner.1].id,
        application(
            partner.0,
            "Partner",
            LegalBasis::Consent {
                seen_alone: SeenAlone::No {
                    why: "The partner stayed in the room".into(),
                },
            },
            &Service::ALL,
            None,
        ),
    ));
    let proxies = applications.len();
    let progress = bar(proxies, "proxy applications granted");
    each(applications, &progress, |(patient, input)| {
        let (practice, grant) = (practice.clone(), grant.clone());
        async move {
            practice
                .proxy_application(&desk, patient, &input, &grant)
                .await?;
            Ok(())
        }
    })
    .await?;
    progress.finish();

    // Repeat medicines: a third of online patients over 45, and every care-home resident.
    let mut items = Vec::new();
    for (i, p) in people.iter_mut().enumerate() {
        let resident = carers.iter().any(|(_, r)| r.contains(&i));
        if p.online && (resident || (p.age(today) >= 45 && rng.chance(0.33))) {
            for which in 0..=rng.below(3) {
                let last = today - Duration::days(14 + rng.below(30) as i64);
                let item = repeat_item(ids.as_ref(), p.id, which, Some(last), today);
                p.items.push(item.id);
                items.push(item);
            }
        }
    }
    let progress = bar(items.len(), "repeat medicines copied");
    let system = By {
        actor: Actor::System,
        channel: Channel::Internal,
    };
    each(items, &progress, |item| {
        let practice = practice.clone();
        async move {
            practice.put_item(&system, &item).await?;
            Ok(())
        }
    })
    .await?;
    progress.finish();

    let mut day = Day {
        practice,
        store: store.clone(),
        clock,
        rng,
        today,
        people,
        parents,
        carers,
        partner: Some(partner),
        gp: By::staff(&gps[0], Channel::Reception),
        desks,
        tally: Tally::default(),
        held: BTreeMap::new(),
    };
    day.tally.patients = day.people.len();
    day.tally.online_patients = registered;
    day.tally.proxies = proxies;
    day.tally.slots = schedule.slots.len();
    let set_up = started.elapsed();
    the_day(&mut day, &schedule).await?;

    // The audit trail, verified from the first record to the head.
    let head = day.store.head().await?;
    day.tally.chain_verified = day.store.verify_all().await?.is_ok();
    if let Some((seq, hash)) = head {
        day.tally.audit_events = seq;
        day.tally.chain_head = format!(
            "{} (sequence {seq})",
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
    let text = day.tally.text();
    say(&format!("\n{text}"));
    let (html_path, _) = report_path(&args);
    let html = day.tally.html(&format!(
        "A day at the practice: Monday {}",
        today.format("%-d %B %Y")
    ));
    std::fs::write(&html_path, html)?;
    let shown = std::fs::canonicalize(&html_path).unwrap_or(html_path);
    // Close the database (its write-ahead log folded back into the file)
    // before saying where it is.
    drop(day.practice);
    drop(day.store);
    drop(store);
    say(&format!(
        "Report with charts: {}\nSet up in {:.1} s; the whole run took {:.1} s.",
        shown.display(),
        set_up.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
    Ok(day.tally)
}

/// The rush: everyone at once. Returns each request's latency in ms.
async fn rush(day: &mut Day) -> Result<(), Error> {
    let n = day.people.len();
    let online_n = (n / 25).max(8);
    let calls_n = (n / 80).max(4);
    // What each caller saw on their screen at 07:59: the free slots.
    let desk = day.desks[0];
    let now = day.now();
    let free: Vec<Slot> = {
        let q = SearchQuery::between(now, now + Duration::days(14));
        day.practice
            .search(
                &By {
                    channel: Channel::Telephone,
                    ..desk
                },
                day.people[0].id,
                q,
            )
            .await?
            .done()
            .unwrap_or_default()
    };
    let online_ok = |s: &Slot| {
        s.role == StaffRole::Gp
            && s.slot_type == SlotType::RoutineGp
            && s.reserved_for.is_none()
            && (s.availability == SlotAvailability::Open
                || local_date(s.start()) <= day.today + Duration::days(1))
            && local_date(s.start()) > day.today
    };
    let mut pool: Vec<SlotId> = free.iter().filter(|s| online_ok(s)).map(|s| s.id).collect();
    let urgent: Vec<SlotId> = free
        .iter()
        .filter(|s| s.slot_type == SlotType::Urgent && local_date(s.start()) == day.today)
        .map(|s| s.id)
        .collect();
    // Regular adults online who hold nothing yet, and patients who telephone.
    let today = day.today;
    let mut online: Vec<usize> = (0..n)
        .filter(|&i| {
            let p = &day.people[i];
            p.online
                && p.kind == RegistrationKind::Regular
                && p.age(today) >= 16
                && !day.held.contains_key(&i)
        })
        .collect();
    let mut callers: Vec<usize> = (0..n)
        .filter(|&i| !day.people[i].online && !day.held.contains_key(&i))
        .collect();
    shuffle(&mut day.rng, &mut online);
    shuffle(&mut day.rng, &mut callers);
    shuffle(&mut day.rng, &mut pool);
    online.truncate(online_n.min(online.len()));
    callers.truncate(calls_n.min(callers.len()));
    // Every eighth patient chose the same slot as the one before (and one
    // call in ten asks for a slot an online patient chose): one of each pair
    // wins, the other is told `SlotTaken` and books the next slot on their list.
    let mut plan: Vec<(usize, By, SlotId, SlotId)> = Vec::new();
    let mut next = 0;
    let mut take = |pool: &[SlotId]| {
        next += 1;
        pool.get(next - 1).copied()
    };
    for (k, &who) in online.iter().enumerate() {
        let first = if k % 8 == 7 {
            plan.last().map(|p| p.2)
        } else {
            take(&pool)
        };
        let (Some(first), Some(fallback)) = (first, take(&pool)) else {
            break;
        };
        plan.push((who, By::patient_online(day.people[who].id), first, fallback));
    }
    let online_plans = plan.len();
    for (k, &who) in callers.iter().enumerate() {
        let by = By {
            channel: Channel::Telephone,
            ..day.desks[k % day.desks.len()]
        };
        let first = if k % 10 == 9 && online_plans > 0 {
            Some(plan[k % online_plans].2)
        } else if let Some(u) = urgent.get(k) {
            Some(*u)
        } else {
            take(&pool)
        };
        let (Some(first), Some(fallback)) = (first, take(&pool)) else {
            break;
        };
        plan.push((who, by, first, fallback));
    }
    let progress = bar(plan.len(), "the 08:00 rush (all at once)");
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (who, by, first, fallback) in plan.clone() {
        let practice = day.practice.clone();
        let patient = day.people[who].id;
        let (latencies, outcomes) = (latencies.clone(), outcomes.clone());
        set.spawn(async move {
            let t = Instant::now();
            if matches!(by.actor, Actor::Patient { .. }) {
                // The patient's screen refreshes its search as they book.
                let q = SearchQuery::between(now, now + Duration::days(14));
                practice.search(&by, patient, q).await?;
            }
            let mut codes = Vec::new();
            let mut booked = None;
            for slot in [first, fallback] {
                let request = BookRequest {
                    actor: by.actor,
                    channel: by.channel,
                    patient,
                    slot,
                    description: None,
                    comment: None,
                    holding_limit_override: None,
                    organisation_contact: None,
                    adjacent: Vec::new(),
                };
                match practice.book(&request).await? {
                    Answer::Done(b) => {
                        booked = Some(b.id);
                        break;
                    }
                    Answer::Refused(r) => {
                        let code = r.code();
                        codes.push(code);
                        if code != "SlotTaken" {
                            break;
                        }
                    }
                }
            }
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            latencies.lock().map_err(|_| "a lock")?.push(ms);
            outcomes
                .lock()
                .map_err(|_| "a lock")?
                .push((who, by, booked, codes));
            Ok::<(), Error>(())
        });
    }
    while let Some(done) = set.join_next().await {
        done??;
        progress.inc(1);
    }
    progress.finish();
    day.tally.rush_seconds = started.elapsed().as_secs_f64();
    day.tally.rush_requests = plan.len();
    let mut latencies = std::mem::take(&mut *latencies.lock().map_err(|_| "a lock")?);
    latencies.sort_by(f64::total_cmp);
    day.tally.rush_latencies_ms = latencies;
    let online_searches = plan
        .iter()
        .filter(|p| matches!(p.1.actor, Actor::Patient { .. }))
        .count();
    day.tally.searches += online_searches + 1;
    let outcomes = std::mem::take(&mut *outcomes.lock().map_err(|_| "a lock")?);
    let mut booked_slots = BTreeSet::new();
    let slot_of: BTreeMap<SlotId, DateTime<Utc>> = free.iter().map(|s| (s.id, s.start())).collect();
    for (who, by, booked, codes) in outcomes {
        for c in codes {
            day.tally.refusal(c);
        }
        if let Some(b) = booked {
            day.tally.booking(8, channel_name(&by));
            booked_slots.insert(b);
            let start = plan
                .iter()
                .find(|p| p.0 == who)
                .and_then(|p| slot_of.get(&p.2))
                .copied()
                .unwrap_or(now);
            day.held.entry(who).or_default().push((b, start));
        }
    }
    Ok(())
}

fn shuffle<T>(rng: &mut Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}

async fn the_day(day: &mut Day, schedule: &Schedule) -> Result<(), Error> {
    let tomorrow = day.today + Duration::days(1);
    day.tally.released = schedule
        .slots
        .iter()
        .filter(|s| {
            s.availability == SlotAvailability::Ringfenced && local_date(s.start()) == tomorrow
        })
        .count();
    let ringfenced_tomorrow: Vec<Slot> = schedule
        .slots
        .iter()
        .filter(|s| {
            s.availability == SlotAvailability::Ringfenced && local_date(s.start()) == tomorrow
        })
        .cloned()
        .collect();

    // 06:59: an early riser tries tomorrow's ringfenced slot before the release.
    day.set(6, 59)?;
    if let (Some(who), Some(slot)) = (
        day.online_person(|p| p.kind == RegistrationKind::Regular),
        ringfenced_tomorrow.first().cloned(),
    ) {
        day.book(&By::patient_online(day.people[who].id), who, &slot)
            .await?;
    }
    // 07:00: released. Early birds search and book.
    day.set(7, 0)?;
    let early = (day.people.len() / 250).max(2);
    for _ in 0..early {
        if let Some(who) = day.online_person(|_| true) {
            day.search_and_book(&By::patient_online(day.people[who].id), who)
                .await?;
        }
    }
    // 08:00: the rush.
    day.set(8, 0)?;
    rush(day).await?;

    let scale = (day.people.len() / 1000).max(1);
    let progress = bar(10, "the rest of the day, hour by hour");
    for hour in 9..=18u32 {
        day.set(hour, 0)?;
        for _ in 0..scale * 3 {
            if let Some(who) = day.online_person(|_| true) {
                day.search_and_book(&By::patient_online(day.people[who].id), who)
                    .await?;
            }
        }
        for _ in 0..scale * 2 {
            day.staff_books(Channel::Telephone).await?;
        }
        if hour % 2 == 1 {
            day.staff_books(Channel::Reception).await?;
        }
        // Parents book for their children.
        for _ in 0..scale.div_ceil(2) {
            if day.parents.is_empty() {
                break;
            }
            let (proxy, child) = day.parents[day.rng.below(day.parents.len())];
            let by = By::proxy_online(proxy, day.people[child].id);
            day.search_and_book(&by, child).await?;
        }
        day.set(hour, 20)?;
        for _ in 0..scale {
            day.cancel_one().await?;
        }
        if hour % 2 == 0 {
            day.reschedule_one().await?;
        }
        // Repeat medicines: online, by telephone, by the care homes at 10:00.
        day.set(hour, 30)?;
        for _ in 0..scale * 2 {
            if let Some(who) = day.online_person(|p| !p.items.is_empty()) {
                day.order(
                    &By::patient_online(day.people[who].id),
                    who,
                    RequestChannel::Online,
                )
                .await?;
            }
        }
        if let Some(who) = day.online_person(|p| !p.items.is_empty()) {
            let desk = By {
                channel: Channel::Telephone,
                ..day.desk()
            };
            day.order(&desk, who, RequestChannel::Telephone).await?;
        }
        if hour == 10 {
            for (worker, residents) in day.carers.clone() {
                for r in residents {
                    let by = By::proxy_online(worker, day.people[r].id);
                    day.order(&by, r, RequestChannel::Online).await?;
                }
            }
        }
        day.set(hour, 40)?;
        for _ in 0..scale {
            day.send_message().await?;
        }
        if hour == 10 {
            coercion_concern(day).await?;
        }
        if hour == 14 {
            linkage(day).await?;
        }
        if hour == 15 {
            revoked_parent(day).await?;
        }
        if hour == 11 || hour == 16 {
            problem_log(day, hour).await?;
        }
        if hour == 12 || hour == 17 {
            day.set(hour, 50)?;
            day.prescribing_session().await?;
        }
        if hour == 13 || hour == 18 {
            day.set(hour, 50)?;
            day.work_the_inbox().await?;
        }
        progress.inc(1);
    }
    progress.finish();
    Ok(())
}

/// 10:40: a receptionist raises a concern about a partner's access; at
/// 15:00 the lead GP, seeing the patient alone, withdraws it.
async fn coercion_concern(day: &mut Day) -> Result<(), Error> {
    let Some((partner, who)) = day.partner else {
        return Ok(());
    };
    let patient = day.people[who].id;
    let as_partner = By::proxy_online(partner, patient);
    day.search_and_book(&as_partner, who).await?;
    let desk = day.desks[1];
    let concern = day
        .practice
        .coercion_concern(
            &desk,
            patient,
            Some(partner),
            "Seemed afraid to speak with the partner present",
        )
        .await?;
    day.refused(&concern);
    // The partner tries again at once: paused while the concern is reviewed.
    day.search_and_book(&as_partner, who).await?;
    if let Answer::Done(id) = concern {
        day.clock.advance(Duration::hours(4));
        let gp = day.gp;
        let review = day
            .practice
            .coercion_review(
                &gp,
                patient,
                id,
                ConcernOutcome::ProxyWithdrawn,
                "Seen alone; asked for it to end",
            )
            .await?;
        day.refused(&review);
        day.search_and_book(&as_partner, who).await?;
        day.clock.advance(Duration::hours(-4));
    }
    Ok(())
}

/// 14:40: linkage details issued at the desk; a mistyped key, then the right one.
async fn linkage(day: &mut Day) -> Result<(), Error> {
    let Some(who) = day.online_person(|p| p.kind == RegistrationKind::Regular) else {
        return Ok(());
    };
    let desk = day.desks[2];
    let issued = day
        .practice
        .issue_linkage(&desk, day.people[who].id)
        .await?;
    if let Answer::Done(details) = &issued {
        let code = details.practice;
        let wrong = day
            .practice
            .redeem_linkage(details.account, &code, "AAAA-BBBB-CCCC")
            .await?;
        day.refused(&wrong);
        day.clock.advance(Duration::minutes(5));
        let right = day
            .practice
            .redeem_linkage(details.account, &code, &details.key)
            .await?;
        day.refused(&right);
        day.clock.advance(Duration::minutes(-5));
    }
    day.refused(&issued);
    Ok(())
}

/// 11:40: a patient reports that the booking page failed, and a
/// receptionist logs a screen-reader problem; 16:40: the receptionist
/// takes the first on and resolves it.
async fn problem_log(day: &mut Day, hour: u32) -> Result<(), Error> {
    if hour == 11 {
        if let Some(who) = day.online_person(|p| p.kind == RegistrationKind::Regular) {
            let patient = day.people[who].id;
            let report = gp_monitoring::NewProblem::new(
                Actor::Patient { patient },
                Channel::Online,
                Some(patient),
                gp_monitoring::ProblemCategory::CannotBook,
                "The list of times stayed empty after choosing a GP",
                None,
            )?;
            let answer = day.practice.report_problem(&report).await?;
            if !day.refused(&answer) {
                day.tally.problems_reported += 1;
            }
        }
        let desk = day.desks[0];
        let report = gp_monitoring::NewProblem::new(
            desk.actor,
            desk.channel,
            None,
            gp_monitoring::ProblemCategory::Accessibility,
            "A patient's screen reader skips the appointment times",
            None,
        )?;
        let answer = day.practice.report_problem(&report).await?;
        if !day.refused(&answer) {
            day.tally.problems_reported += 1;
        }
        return Ok(());
    }
    let desk = day.desks[0];
    let open = gp_monitoring::ProblemFilter {
        open_only: true,
        category: Some(gp_monitoring::ProblemCategory::CannotBook),
        ..gp_monitoring::ProblemFilter::default()
    };
    let problems = day
        .practice
        .problems(&desk, &open)
        .await?
        .done()
        .unwrap_or_default();
    for p in problems {
        for (status, note) in [
            (
                gp_monitoring::ProblemStatus::InProgress,
                "Rang the patient; the supplier is looking",
            ),
            (
                gp_monitoring::ProblemStatus::Resolved,
                "The supplier fixed the page; the patient booked",
            ),
        ] {
            let answer = day
                .practice
                .problem_action(&desk, p.id, status, note)
                .await?;
            day.refused(&answer);
        }
        day.tally.problems_resolved += 1;
    }
    Ok(())
}

/// 15:40: a parent's access is revoked at the desk; their next attempt is refused.
async fn revoked_parent(day: &mut Day) -> Result<(), Error> {
    if day.parents.is_empty() {
        return Ok(());
    }
    let (proxy, child) = day.parents.remove(0);
    let patient = day.people[child].id;
    let desk = day.desks[3];
    let revoked = day
        .practice
        .revoke_proxy(&desk, patient, proxy, "Court order received")
        .await?;
    day.refused(&revoked);
    day.search_and_book(&By::proxy_online(proxy, patient), child)
        .await?;
    Ok(())
}
