//! Delivery reports for messages sent from Matrix — `com.beeper.message_send_status` events
//! and the bot's read receipt — sent off the ordered path: a conversation hands them over and
//! goes on with its next message at once, instead of waiting a homeserver round trip per
//! send. One task sends them in the order they came; what piled up meanwhile is coalesced
//! (one status per event, the newest; one receipt per room, the newest). They are best effort:
//! a full queue or a failed send is only logged.

use std::collections::HashMap;
use std::sync::Arc;

use ruma::{EventId, OwnedRoomId};
use serde_json::json;
use tokio::sync::mpsc;

use super::Bridge;

/// Reports waiting at most; beyond, new ones are dropped (and logged).
const QUEUE: usize = 10_000;

/// One report to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The outcome of sending `event_id` to Instagram (`error: None` is success).
    Status {
        room: OwnedRoomId,
        event_id: String,
        error: Option<String>,
    },
    /// The bot has read up to `event_id` (Instagram has it).
    Receipt { room: OwnedRoomId, event_id: String },
    /// A message checkpoint for `homeserver.message_send_checkpoint_endpoint` (never
    /// coalesced; a batch's are POSTed together).
    Checkpoint(super::bridge_state::checkpoints::Checkpoint),
}

/// The conversations' end of the queue.
#[derive(Debug)]
pub struct Reports {
    tx: mpsc::Sender<Report>,
    rx: std::sync::Mutex<Option<mpsc::Receiver<Report>>>,
}

impl Default for Reports {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
        }
    }
}

impl Reports {
    /// Queues a report; never waits.
    pub fn push(&self, report: Report) {
        if let Err(e) = self.tx.try_send(report) {
            tracing::debug!("delivery report dropped: {e}");
        }
    }

    /// The sending end's receiver, once (for [`run`]).
    fn take(&self) -> Option<mpsc::Receiver<Report>> {
        self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Keeps the newest report per event (statuses) and per room (receipts), in the order each
/// first appeared.
pub fn coalesce(batch: Vec<Report>) -> Vec<Report> {
    let mut order: Vec<Report> = Vec::with_capacity(batch.len());
    let mut index: HashMap<(bool, String), usize> = HashMap::new();
    for report in batch {
        let key = match &report {
            Report::Status { event_id, .. } => (true, event_id.clone()),
            Report::Receipt { room, .. } => (false, room.to_string()),
            Report::Checkpoint(_) => {
                order.push(report);
                continue;
            }
        };
        match index.get(&key) {
            Some(&i) => order[i] = report,
            None => {
                index.insert(key, order.len());
                order.push(report);
            }
        }
    }
    order
}

/// Sends the reports until the bridge is dropped.
pub async fn run(bridge: Arc<Bridge>) {
    let Some(mut rx) = bridge.reports.take() else {
        return;
    };
    let bridge = Arc::downgrade(&bridge);
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 256).await > 0 {
        let Some(bridge) = bridge.upgrade() else {
            return;
        };
        let mut checkpoints = Vec::new();
        for report in coalesce(std::mem::take(&mut batch)) {
            match report {
                Report::Checkpoint(c) => checkpoints.push(c),
                other => send(&bridge, other).await,
            }
        }
        if !checkpoints.is_empty() {
            bridge.bridge_states.post_checkpoints(&checkpoints).await;
        }
    }
}

async fn send(bridge: &Bridge, report: Report) {
    match report {
        Report::Status {
            room,
            event_id,
            error,
        } => {
            let mut content = json!({
                "network": "instagram",
                "m.relates_to": { "rel_type": "m.reference", "event_id": event_id },
                "status": if error.is_none() { "SUCCESS" } else { "FAIL" },
            });
            if let Some(e) = error {
                content["reason"] = json!("m.foreign_network_error");
                content["message"] = json!(e);
            }
            let txn = super::convert::txn::send_status(&event_id);
            if let Err(e) = bridge
                .intents
                .bot()
                .send_raw(&room, "com.beeper.message_send_status", txn, &content, None)
                .await
            {
                tracing::debug!("send status not delivered: {e}");
            }
        }
        Report::Checkpoint(_) => {}
        Report::Receipt { room, event_id } => {
            let Ok(event) = EventId::parse(&event_id) else {
                return;
            };
            if let Err(e) = bridge.intents.bot().read_receipt(&room, &event).await {
                tracing::debug!("delivery receipt not sent: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(event: &str, error: Option<&str>) -> Report {
        Report::Status {
            room: ruma::owned_room_id!("!a:x"),
            event_id: event.into(),
            error: error.map(str::to_string),
        }
    }

    fn receipt(room: &str, event: &str) -> Report {
        Report::Receipt {
            room: OwnedRoomId::try_from(room).expect("room id"),
            event_id: event.into(),
        }
    }

    #[test]
    fn piled_up_reports_are_coalesced_in_order() {
        let out = coalesce(vec![
            status("$1", Some("timeout")),
            receipt("!a:x", "$1"),
            status("$2", None),
            status("$1", None),
            receipt("!b:x", "$9"),
            receipt("!a:x", "$2"),
        ]);
        assert_eq!(
            out,
            vec![
                status("$1", None),
                receipt("!a:x", "$2"),
                status("$2", None),
                receipt("!b:x", "$9"),
            ]
        );
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let reports = Reports::default();
        for i in 0..(QUEUE + 10) {
            reports.push(status(&format!("${i}"), None));
        }
        let rx = reports.take().expect("receiver");
        assert_eq!(rx.len(), QUEUE);
        assert!(reports.take().is_none(), "taken once");
    }
}
