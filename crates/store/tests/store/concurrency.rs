use payram_domain::Outcome;
use payram_ports::{Ledger, Queries};

use crate::helpers::{TestDb, count, customer, event, notification, reference};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_identical_deliveries_credit_once() {
    let (db, repo) = TestDb::migrated();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move {
                repo.apply_notification(
                    event(b"filled"),
                    notification("ref-1", "FILLED", Some("50.00")),
                )
                .await
            })
        })
        .collect();
    let mut applied = Vec::new();
    for task in tasks {
        applied.push(task.await.unwrap().unwrap());
    }

    let credited: Vec<_> = applied.iter().filter_map(|applied| applied.credit.as_ref()).collect();
    assert_eq!(credited.len(), 1);
    assert_eq!(credited[0].amount_usd.to_string(), "50.00");
    let applied_count =
        applied.iter().filter(|applied| applied.outcome == Outcome::Applied).count();
    let duplicates = applied.iter().filter(|applied| applied.outcome == Outcome::Duplicate).count();
    assert_eq!((applied_count, duplicates), (1, 19));

    assert_eq!(count(&db, "credits"), 1);
    assert_eq!(count(&db, "events"), 20);
    assert_eq!(repo.customer(&customer("cust-1")).await.unwrap().balance_usd.to_string(), "50.00");
    let view = repo.payment(&reference("ref-1")).await.unwrap().unwrap();
    assert_eq!(view.events.len(), 20);
    assert_eq!(view.payment.record().credit_count, 1);
}
