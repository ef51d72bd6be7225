//! The simulator: a steady stream of plausible police reports, assignments and updates.
//!
//! Each step is one change to the store, drawn from the simulator's own random generator, so a seeded
//! simulator makes the same changes in the same order on every run.

use std::time::Duration;

use crate::model::{Change, Draft, Priority, Status, Store};

/// A kind of incident: its name, what callers say, and how urgent it tends to be.
struct Category {
    name: &'static str,
    descriptions: &'static [&'static str],
    /// Weights of low, normal, high and critical.
    weights: [u32; 4],
    /// Happens at a crossing rather than an address.
    at_crossing: bool,
}

const CATEGORIES: &[Category] = &[
    Category {
        name: "Burglary",
        descriptions: &[
            "Back door forced, house empty",
            "Alarm going off, broken window at the rear",
            "Garage broken into overnight, tools missing",
            "Caller hears someone inside the flat downstairs",
        ],
        weights: [10, 50, 35, 5],
        at_crossing: false,
    },
    Category {
        name: "Traffic collision",
        descriptions: &[
            "Two cars, no injuries, blocking one lane",
            "Cyclist hit by a van, conscious",
            "Car into a lamp post, driver walked away",
            "Three-car pile-up, one person trapped",
        ],
        weights: [10, 45, 35, 10],
        at_crossing: true,
    },
    Category {
        name: "Noise complaint",
        descriptions: &[
            "Loud party, music since 10 pm",
            "Dog barking for hours",
            "Building work outside permitted hours",
            "Car alarm that will not stop",
        ],
        weights: [70, 30, 0, 0],
        at_crossing: false,
    },
    Category {
        name: "Missing person",
        descriptions: &[
            "Boy, 8, did not come home from school",
            "Elderly man with dementia left his care home",
            "Teenager not seen since yesterday evening",
        ],
        weights: [0, 20, 50, 30],
        at_crossing: false,
    },
    Category {
        name: "Shoplifting",
        descriptions: &[
            "Suspect held by store security",
            "Two people left with unpaid electronics",
            "Repeat offender seen back in the store",
        ],
        weights: [50, 45, 5, 0],
        at_crossing: false,
    },
    Category {
        name: "Domestic disturbance",
        descriptions: &[
            "Neighbours hear shouting and things breaking",
            "Woman asking for help from a window",
            "Ongoing argument, children in the flat",
        ],
        weights: [0, 30, 50, 20],
        at_crossing: false,
    },
    Category {
        name: "Suspicious vehicle",
        descriptions: &[
            "Van parked with its engine running for an hour",
            "Car circling the school car park",
            "Someone trying door handles of parked cars",
        ],
        weights: [35, 55, 10, 0],
        at_crossing: true,
    },
    Category {
        name: "Vandalism",
        descriptions: &[
            "Bus shelter glass smashed",
            "Fresh graffiti on the library wall",
            "Tyres of several cars slashed",
        ],
        weights: [55, 40, 5, 0],
        at_crossing: false,
    },
    Category {
        name: "Assault",
        descriptions: &[
            "Fight outside a bar, one person on the ground",
            "Man punched at the bus stop, attacker fled on foot",
            "Stabbing reported, ambulance requested",
        ],
        weights: [0, 25, 50, 25],
        at_crossing: false,
    },
    Category {
        name: "Fire alarm",
        descriptions: &[
            "Alarm at an office building, smoke reported",
            "Automatic alarm, nobody answering on site",
            "Smoke from a basement window",
        ],
        weights: [5, 35, 45, 15],
        at_crossing: false,
    },
    Category {
        name: "Welfare check",
        descriptions: &[
            "Neighbour not seen for days, post piling up",
            "Person sleeping rough in the cold",
        ],
        weights: [10, 60, 25, 5],
        at_crossing: false,
    },
];

const STREETS: &[&str] = &[
    "Main St",
    "Elm St",
    "Harbor Rd",
    "Oak Ave",
    "Mill Ln",
    "Riverside Dr",
    "Park Ave",
    "King St",
    "Church Rd",
    "Station Sq",
    "Market St",
    "Hill Rd",
];

const NOTES: &[&str] = &[
    "Caller rang back: suspect left on foot towards the park",
    "Second caller reports the same incident",
    "Ambulance on its way",
    "Witness has a photo of the licence plate",
    "Situation calmer, caller waiting outside",
    "Fire service informed",
    "Suspect described: dark jacket, grey backpack",
];

/// The stations the simulator reports to (4 is the demo officer's).
pub(crate) const STATIONS: [u32; 2] = [4, 7];

/// Who station 7's reports are assigned to: an officer with no demo login, so dispatchers see
/// assignments that are not theirs.
const STATION_7_UNIT: &str = "unit-7-12";

/// Reports older than this many are left alone, so updates concern what is on screen.
const RECENT: usize = 25;

/// Makes one simulated change at a time.
pub(crate) struct Simulator {
    rng: fastrand::Rng,
}

impl Simulator {
    /// A simulator; with a seed it makes the same changes on every run.
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Self {
            rng: seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        }
    }

    /// The pause before the next step: `1 / rate` on average, jittered so events do not tick like a clock.
    pub(crate) fn pause(&mut self, rate_per_min: f64) -> Duration {
        // At most a day, whatever the rate: keeps the arithmetic in range for tiny rates.
        let mean = (60.0 / rate_per_min).min(86_400.0);
        Duration::from_secs_f64(mean * (0.5 + self.rng.f64()))
    }

    /// Makes one change: usually a new report, otherwise an assignment or an update of a recent report.
    pub(crate) fn step(&mut self, store: &mut Store) {
        let roll = self.rng.u32(0..100);
        let done = match roll {
            0..55 => false,
            55..75 => self.assign(store),
            _ => self.update(store),
        };
        if !done {
            let draft = self.draft();
            store.create(draft);
        }
    }

    /// A new report.
    fn draft(&mut self) -> Draft {
        let category = &CATEGORIES[self.rng.usize(..CATEGORIES.len())];
        let description = category.descriptions[self.rng.usize(..category.descriptions.len())];
        let location = if category.at_crossing {
            let a = self.street();
            let mut b = self.street();
            while b == a {
                b = self.street();
            }
            format!("{a} & {b}")
        } else {
            format!("{} {}", self.rng.u32(1..240), self.street())
        };
        Draft {
            category: category.name.to_string(),
            description: description.to_string(),
            priority: self.priority(category.weights),
            location,
            // Station 4 (the demo officer's) gets most of them, so an officer's screen is not quiet.
            station_id: if self.rng.u32(0..10) < 6 {
                STATIONS[0]
            } else {
                STATIONS[1]
            },
        }
    }

    fn street(&mut self) -> &'static str {
        STREETS[self.rng.usize(..STREETS.len())]
    }

    fn priority(&mut self, weights: [u32; 4]) -> Priority {
        let mut roll = self.rng.u32(0..weights.iter().sum::<u32>());
        for (priority, weight) in Priority::ALL.into_iter().zip(weights) {
            if roll < weight {
                return priority;
            }
            roll -= weight;
        }
        Priority::Normal
    }

    /// Assigns a recent open, unassigned report: station 4's to the demo officer, unless that officer has
    /// just answered it `unable`.
    fn assign(&mut self, store: &mut Store) -> bool {
        let candidates: Vec<(u64, &'static str)> = recent(store)
            .filter(|r| r.status == Status::New && r.assigned_to.is_none())
            .map(|r| (r.id, assignee(r.station_id)))
            .filter(|&(id, assignee)| !store.declined_by(id, assignee))
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let (id, assignee) = candidates[self.rng.usize(..candidates.len())];
        store.assign(id, assignee).is_ok()
    }

    /// Moves a recent open report on: its status, its priority, or a note. The status of a report someone
    /// has answered (`status_by`) is theirs to move: the simulator changes only its priority or note.
    fn update(&mut self, store: &mut Store) -> bool {
        let candidates: Vec<(u64, Status, Priority, bool)> = recent(store)
            .filter(|r| r.status != Status::Closed)
            .map(|r| (r.id, r.status, r.priority, r.status_by.is_some()))
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let (id, status, priority, answered) = candidates[self.rng.usize(..candidates.len())];
        let roll = self.rng.u32(0..100);
        let next_status = match status {
            Status::Assigned => Status::EnRoute,
            Status::EnRoute => Status::OnScene,
            // Unassigned reports are sometimes settled by phone (closed ones are never picked).
            Status::OnScene | Status::New | Status::Closed => Status::Closed,
        };
        let moves_on = !answered
            && if status == Status::New {
                roll < 20
            } else {
                roll < 60
            };
        let result = if moves_on {
            store.update(id, Change::Status, |r| r.status = next_status)
        } else if roll < 80 {
            // Mostly escalations: that is what a duty officer must not miss.
            let next = if priority == Priority::Critical || self.rng.u32(0..4) == 0 {
                lower(priority)
            } else {
                higher(priority)
            };
            store.update(id, Change::Priority, |r| r.priority = next)
        } else {
            let note = NOTES[self.rng.usize(..NOTES.len())];
            store.update(id, Change::Note, |r| r.note = Some(note.to_string()))
        };
        result.is_ok()
    }
}

/// Who the simulator assigns a station's reports to.
fn assignee(station_id: u32) -> &'static str {
    if station_id == STATIONS[0] {
        "officer"
    } else {
        STATION_7_UNIT
    }
}

fn recent(store: &Store) -> impl Iterator<Item = &crate::model::Report> {
    store.reports().iter().rev().take(RECENT)
}

fn higher(p: Priority) -> Priority {
    match p {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        Priority::High | Priority::Critical => Priority::Critical,
    }
}

fn lower(p: Priority) -> Priority {
    match p {
        Priority::Low | Priority::Normal => Priority::Low,
        Priority::High => Priority::Normal,
        Priority::Critical => Priority::High,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatusAnswer;
    use tokio::sync::broadcast;

    fn run(seed: u64, steps: usize) -> Vec<crate::model::Report> {
        let (tx, _) = broadcast::channel(16);
        let mut store = Store::new(tx);
        let mut sim = Simulator::new(Some(seed));
        for _ in 0..steps {
            sim.step(&mut store);
        }
        store.reports().to_vec()
    }

    /// The reports without their timestamps, which come from the clock.
    fn content(reports: &[crate::model::Report]) -> Vec<String> {
        reports
            .iter()
            .map(|r| {
                format!(
                    "{} {} {:?} {:?} {} {} {:?} {:?} {:?}",
                    r.id,
                    r.seq,
                    r.category,
                    r.description,
                    r.location,
                    r.station_id,
                    r.priority,
                    r.status,
                    r.assigned_to
                )
            })
            .collect()
    }

    #[test]
    fn a_seed_gives_the_same_changes() {
        assert_eq!(content(&run(7, 200)), content(&run(7, 200)));
        assert_ne!(content(&run(7, 200)), content(&run(8, 200)));
    }

    #[test]
    fn the_mix_has_every_kind_of_change() {
        let reports = run(42, 500);
        assert!(reports.len() > 200, "mostly new reports: {}", reports.len());
        let last_seq = reports.iter().map(|r| r.seq).max().unwrap();
        assert_eq!(last_seq, 500, "one change per step");
        assert!(reports
            .iter()
            .any(|r| r.assigned_to.as_deref() == Some("officer") && r.station_id == 4));
        assert!(reports
            .iter()
            .all(|r| r.assigned_to.as_deref() != Some("officer") || r.station_id == 4));
        assert!(reports.iter().any(|r| r.status == Status::Closed));
        assert!(reports.iter().any(|r| r.note.is_some()));
        assert!(reports.iter().any(|r| r.station_id == 7));
        let critical = reports
            .iter()
            .filter(|r| r.priority == Priority::Critical)
            .count();
        assert!(
            critical > 0 && critical < reports.len() / 4,
            "critical now and then: {critical} of {}",
            reports.len()
        );
    }

    #[test]
    fn answered_reports_keep_their_answer() {
        let officer = &crate::model::USERS[0];
        let (tx, _) = broadcast::channel(16);
        let mut store = Store::new(tx);
        let mut sim = Simulator::new(Some(5));
        for _ in 0..40 {
            sim.step(&mut store);
        }
        let open: Vec<(u64, bool)> = recent(&store)
            .filter(|r| r.station_id == STATIONS[0] && r.status != Status::Closed)
            .map(|r| (r.id, r.assigned_to.as_deref() == Some(officer.id)))
            .collect();
        let (mut declined, mut en_route) = (Vec::new(), Vec::new());
        for (id, mine) in open {
            let (answer, into) = if mine {
                (StatusAnswer::Unable, &mut declined)
            } else {
                (StatusAnswer::EnRoute, &mut en_route)
            };
            let answered = store.answer(id, officer, answer, None).unwrap();
            into.push((id, answered.seq));
        }
        assert!(!declined.is_empty() && !en_route.is_empty());
        let mut touched = 0;
        for _ in 0..40 {
            sim.step(&mut store);
            for &(id, seq) in &declined {
                let r = store.get(id).unwrap();
                assert_ne!(r.assigned_to.as_deref(), Some(officer.id), "{r:?}");
                touched += usize::from(r.seq > seq);
            }
            for &(id, seq) in &en_route {
                let r = store.get(id).unwrap();
                assert_eq!(r.status, Status::EnRoute, "{r:?}");
                assert_eq!(r.status_by.as_deref(), Some(officer.id));
                touched += usize::from(r.seq > seq);
            }
        }
        assert!(touched > 0, "the simulator changed some answered reports");
    }

    #[test]
    fn pauses_average_the_rate() {
        let mut sim = Simulator::new(Some(1));
        let total: f64 = (0..1000).map(|_| sim.pause(60.0).as_secs_f64()).sum();
        assert!((total / 1000.0 - 1.0).abs() < 0.05, "{total}");
    }
}
