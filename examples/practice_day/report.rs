//! The day's figures, printed for the practice manager and written as an
//! HTML page with inline SVG charts (no JavaScript, readable from disk).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The channels a booking can come through, in the order the charts show them.
pub const CHANNELS: [&str; 4] = ["online", "proxy", "telephone", "reception"];

/// Everything the day counts.
#[derive(Debug, Default)]
pub struct Tally {
    /// Patients on the list, registered for online services, proxies granted.
    pub patients: usize,
    /// Patients registered for online services.
    pub online_patients: usize,
    /// Proxy grants.
    pub proxies: usize,
    /// Slots in the six weeks of sessions.
    pub slots: usize,
    /// Ringfenced slots released for online booking at 07:00.
    pub released: usize,
    /// Bookings by hour of the day (local) and channel.
    pub booked: BTreeMap<(u32, &'static str), usize>,
    /// Cancellations and reschedules.
    pub cancelled: usize,
    /// Reschedules.
    pub rescheduled: usize,
    /// Refusals by reason code.
    pub refused: BTreeMap<&'static str, usize>,
    /// Repeat-medicine lines by outcome (ordered, approved, issued, rejected, refused).
    pub repeats: BTreeMap<&'static str, usize>,
    /// Messages sent by patients and proxies, replied to, handled.
    pub messages: BTreeMap<&'static str, usize>,
    /// Searches made.
    pub searches: usize,
    /// Problems reported to the problem log.
    pub problems_reported: usize,
    /// Problems resolved.
    pub problems_resolved: usize,
    /// The 08:00 rush: requests, seconds taken, and the bookings' latencies in ms (sorted).
    pub rush_requests: usize,
    /// How long the rush took.
    pub rush_seconds: f64,
    /// Each rush booking's latency in milliseconds.
    pub rush_latencies_ms: Vec<f64>,
    /// Audit events in the trail.
    pub audit_events: u64,
    /// The verified chain head, hex.
    pub chain_head: String,
    /// Whether the chain verified from the first record to the head.
    pub chain_verified: bool,
}

impl Tally {
    /// Counts a refusal by its reason code.
    pub fn refusal(&mut self, code: &'static str) {
        *self.refused.entry(code).or_default() += 1;
    }

    /// Counts a booking made at `hour` through `channel`.
    pub fn booking(&mut self, hour: u32, channel: &'static str) {
        *self.booked.entry((hour, channel)).or_default() += 1;
    }

    /// Counts a repeat-medicine outcome.
    pub fn repeat(&mut self, outcome: &'static str, n: usize) {
        *self.repeats.entry(outcome).or_default() += n;
    }

    /// Counts a message event.
    pub fn message(&mut self, what: &'static str) {
        *self.messages.entry(what).or_default() += 1;
    }

    fn by_channel(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for ((_, channel), n) in &self.booked {
            *out.entry(*channel).or_default() += n;
        }
        out
    }

    fn by_hour(&self) -> BTreeMap<u32, BTreeMap<&'static str, usize>> {
        let mut out: BTreeMap<u32, BTreeMap<&'static str, usize>> = BTreeMap::new();
        for ((hour, channel), n) in &self.booked {
            *out.entry(*hour).or_default().entry(*channel).or_default() += n;
        }
        out
    }

    fn percentile(&self, p: f64) -> f64 {
        let v = &self.rush_latencies_ms;
        if v.is_empty() {
            return 0.0;
        }
        let rank = (p * (v.len() - 1) as f64).round() as usize;
        v[rank.min(v.len() - 1)]
    }

    /// The summary a practice manager reads, as text.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let total: usize = self.booked.values().sum();
        let _ = writeln!(
            s,
            "Practice: {} patients on the list, {} registered for online services, {} proxies",
            self.patients, self.online_patients, self.proxies
        );
        let _ = writeln!(
            s,
            "Slots: {} in six weeks of sessions; {} ringfenced slots released online at 07:00",
            self.slots, self.released
        );
        let _ = writeln!(
            s,
            "\nBookings: {total} ({} cancelled, {} rescheduled); {} searches",
            self.cancelled, self.rescheduled, self.searches
        );
        for (channel, n) in self.by_channel() {
            let _ = writeln!(s, "  {channel:<10} {n:>6}");
        }
        let _ = writeln!(s, "  by hour:");
        for (hour, channels) in self.by_hour() {
            let row: Vec<String> = CHANNELS
                .iter()
                .map(|c| format!("{c} {}", channels.get(c).copied().unwrap_or(0)))
                .collect();
            let _ = writeln!(s, "    {hour:02}:00  {}", row.join(", "));
        }
        let _ = writeln!(
            s,
            "\nThe 08:00 rush: {} booking requests at once in {:.2} s ({:.0} a second); latency p50 {:.1} ms, p99 {:.1} ms",
            self.rush_requests,
            self.rush_seconds,
            self.rush_requests as f64 / self.rush_seconds.max(1e-9),
            self.percentile(0.5),
            self.percentile(0.99)
        );
        let _ = writeln!(
            s,
            "\nRefusals by reason: {}",
            self.refused.values().sum::<usize>()
        );
        let mut refusals: Vec<_> = self.refused.iter().collect();
        refusals.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (code, n) in refusals {
            let _ = writeln!(s, "  {code:<32} {n:>6}");
        }
        let _ = writeln!(s, "\nRepeat medicines (lines):");
        for (outcome, n) in &self.repeats {
            let _ = writeln!(s, "  {outcome:<10} {n:>6}");
        }
        let _ = writeln!(s, "\nMessages:");
        for (what, n) in &self.messages {
            let _ = writeln!(s, "  {what:<10} {n:>6}");
        }
        let _ = writeln!(
            s,
            "\nProblem log: {} reported, {} resolved",
            self.problems_reported, self.problems_resolved
        );
        let _ = writeln!(
            s,
            "\nAudit trail: {} events; chain {} to the head {}",
            self.audit_events,
            if self.chain_verified {
                "verified"
            } else {
                "BROKEN"
            },
            self.chain_head
        );
        s
    }

    /// The same summary as a self-contained HTML page with inline SVG charts.
    pub fn html(&self, title: &str) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#212b32}}\
             table{{border-collapse:collapse}}td,th{{padding:2px 10px;text-align:left}}\
             td.n{{text-align:right}}h2{{margin-top:1.5em}}</style></head><body>\n<h1>{t}</h1>\n",
            t = escape(title)
        );
        let _ = writeln!(h, "<pre>{}</pre>", escape(&self.text()));
        let _ = writeln!(h, "<h2>Bookings by hour and channel</h2>");
        h.push_str(&self.hour_chart());
        let _ = writeln!(h, "<h2>Refusals by reason</h2>");
        h.push_str(&bars(
            &self
                .refused
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<Vec<_>>(),
        ));
        let _ = writeln!(h, "</body></html>");
        h
    }

    fn hour_chart(&self) -> String {
        const COLOURS: [&str; 4] = ["#005eb8", "#41b6e6", "#ffb81c", "#009639"];
        let hours = self.by_hour();
        let max = hours
            .values()
            .map(|c| c.values().sum::<usize>())
            .max()
            .unwrap_or(1)
            .max(1);
        let (bar, gap, height) = (36.0, 8.0, 220.0);
        let width = 60.0 + (bar + gap) * hours.len() as f64;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\" aria-label=\"Bookings by hour and channel\">\n",
            height + 60.0
        );
        for (i, (hour, channels)) in hours.iter().enumerate() {
            let x = 50.0 + (bar + gap) * i as f64;
            let mut y = height;
            for (c, channel) in CHANNELS.iter().enumerate() {
                let n = channels.get(channel).copied().unwrap_or(0);
                if n == 0 {
                    continue;
                }
                let hgt = height * n as f64 / max as f64;
                y -= hgt;
                let _ = writeln!(
                    s,
                    "<rect x=\"{x}\" y=\"{y:.1}\" width=\"{bar}\" height=\"{hgt:.1}\" fill=\"{}\"><title>{hour:02}:00 {channel}: {n}</title></rect>",
                    COLOURS[c]
                );
            }
            let total: usize = channels.values().sum();
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{total}</text>\
                 <text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{hour:02}:00</text>",
                x + bar / 2.0,
                y - 3.0,
                x + bar / 2.0,
                height + 15.0
            );
        }
        for (c, channel) in CHANNELS.iter().enumerate() {
            let x = 50.0 + 110.0 * c as f64;
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{channel}</text>",
                height + 30.0,
                COLOURS[c],
                x + 16.0,
                height + 41.0
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

/// A horizontal bar chart of labelled counts, largest first.
fn bars(items: &[(String, usize)]) -> String {
    let mut items = items.to_vec();
    items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let max = items.iter().map(|i| i.1).max().unwrap_or(1).max(1);
    let row = 22.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{}\" role=\"img\" aria-label=\"Refusals by reason\">\n",
        row * items.len() as f64 + 10.0
    );
    for (i, (label, n)) in items.iter().enumerate() {
        let y = row * i as f64 + 5.0;
        let w = 400.0 * *n as f64 / max as f64;
        let _ = writeln!(
            s,
            "<text x=\"250\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text>\
             <rect x=\"258\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"16\" fill=\"#da291c\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{n}</text>",
            y + 12.0,
            escape(label),
            262.0 + w,
            y + 12.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
