//! Templates and bulk sends in the store: versions written once (a number taken twice is
//! refused), the latest per template, isolation between organizations; a batch written with
//! its rows and their jobs in one transaction (all or nothing), rows finished one by one.

use super::*;
use inkan_domain::{BatchId, TemplateId};
use inkan_store::{BatchRecord, BatchRow, RowOutcome, RowState, TemplateVersionRecord};

fn version(org: OrganizationId, template: TemplateId, n: u32, name: &str) -> TemplateVersionRecord {
    TemplateVersionRecord {
        template,
        version: n,
        organization: org,
        name: name.into(),
        body: json!({"title": format!("v{n}"), "documents": []}),
        created_by: Some("user:x".into()),
        created_at: NOW + i64::from(n),
    }
}

pub(crate) async fn template_versions_are_written_once(ctx: Ctx) {
    let s = &*ctx.store;
    let morioka = organization(s, "盛岡市").await;
    let takizawa = organization(s, "滝沢市").await;
    let (a, b) = (TemplateId::new(), TemplateId::new());
    s.add_template_version(&version(morioka, a, 1, "委託契約"))
        .await
        .unwrap();
    s.add_template_version(&version(morioka, a, 2, "委託契約（改）"))
        .await
        .unwrap();
    s.add_template_version(&version(morioka, b, 1, "売買契約"))
        .await
        .unwrap();
    // Two editors saving version 2 at once: the second is refused, the first kept.
    assert!(matches!(
        s.add_template_version(&version(morioka, a, 2, "上書き"))
            .await,
        Err(StoreError::Duplicate(_))
    ));
    let latest = s.templates(morioka).await.unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|t| (t.name.as_str(), t.version))
            .collect::<Vec<_>>(),
        [("売買契約", 1), ("委託契約（改）", 2)]
    );
    assert_eq!(
        s.template_version(morioka, a, None)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
    let first = s
        .template_version(morioka, a, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, version(morioka, a, 1, "委託契約"));
    assert_eq!(
        s.template_versions(morioka, a)
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        [2, 1]
    );
    // Another organization sees none of it.
    assert!(s.templates(takizawa).await.unwrap().is_empty());
    assert!(s
        .template_version(takizawa, a, None)
        .await
        .unwrap()
        .is_none());
    assert!(s.template_versions(takizawa, a).await.unwrap().is_empty());
}

fn row(org: OrganizationId, batch: BatchId, n: u32) -> BatchRow {
    BatchRow {
        batch,
        row: n,
        organization: org,
        input: json!({"number": format!("R8-{n}")}),
        state: RowState::Waiting,
        envelope: None,
        error: None,
        updated_at: NOW,
    }
}

pub(crate) async fn a_batch_is_written_with_its_jobs_and_finished_row_by_row(ctx: Ctx) {
    let s = &*ctx.store;
    let org = organization(s, "盛岡市").await;
    let other = organization(s, "滝沢市").await;
    let batch = BatchRecord {
        id: BatchId::new(),
        organization: org,
        template: TemplateId::new(),
        version: 3,
        file_name: "一括.csv".into(),
        actor: "user:x".into(),
        rows: 3,
        created_at: NOW,
    };
    let rows: Vec<_> = (2..=4).map(|n| row(org, batch.id, n)).collect();
    let jobs = (2..=4)
        .map(|n| job("bulk_row", Some(&format!("bulk:{}:{n}", batch.id)), NOW, 8))
        .collect();
    // A row twice: nothing of the batch is written, nor its jobs.
    let twice = vec![rows[0].clone(), rows[0].clone()];
    assert!(s
        .create_batch(
            &batch,
            &twice,
            jobs_change(vec![job("bulk_row", None, NOW, 8)])
        )
        .await
        .is_err());
    assert!(s.batch(org, batch.id).await.unwrap().is_none());
    assert_eq!(count_jobs(s).await, 0);

    s.create_batch(&batch, &rows, jobs_change(jobs))
        .await
        .unwrap();
    assert_eq!(s.batch(org, batch.id).await.unwrap(), Some(batch.clone()));
    assert_eq!(count_jobs(s).await, 3);
    assert_eq!(
        s.batches(org, 0).await.unwrap(),
        std::slice::from_ref(&batch)
    );
    let progress = s.batch_progress(org, batch.id).await.unwrap();
    assert_eq!(
        (progress.waiting, progress.sent, progress.failed),
        (3, 0, 0)
    );

    let envelope = EnvelopeId::new();
    let sent = RowOutcome {
        state: RowState::Sent,
        envelope: Some(envelope),
        error: None,
    };
    let failed = RowOutcome {
        state: RowState::Failed,
        envelope: None,
        error: Some("宛先が不正".into()),
    };
    s.finish_batch_row(org, batch.id, 2, &sent, NOW + 1)
        .await
        .unwrap();
    s.finish_batch_row(org, batch.id, 3, &failed, NOW + 1)
        .await
        .unwrap();
    let progress = s.batch_progress(org, batch.id).await.unwrap();
    assert_eq!(
        (progress.waiting, progress.sent, progress.failed),
        (1, 1, 1)
    );
    let stored = s.batch_rows(org, batch.id).await.unwrap();
    assert_eq!(stored.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(
        (stored[0].state, stored[0].envelope),
        (RowState::Sent, Some(envelope))
    );
    assert_eq!(stored[1].error.as_deref(), Some("宛先が不正"));
    assert_eq!(
        s.batch_row(org, batch.id, 4).await.unwrap().unwrap().input,
        json!({"number": "R8-4"})
    );
    // Another organization can neither read nor finish it.
    assert!(s.batch(other, batch.id).await.unwrap().is_none());
    assert!(s.batch_rows(other, batch.id).await.unwrap().is_empty());
    assert!(s.batch_row(other, batch.id, 4).await.unwrap().is_none());
    assert!(matches!(
        s.finish_batch_row(other, batch.id, 4, &sent, NOW).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.batch_progress(org, batch.id).await.unwrap().waiting, 1);
}
