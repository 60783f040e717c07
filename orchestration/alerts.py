"""The alert sensor: records new solar anomalies in ops.alerts and posts the ones not yet sent
to the webhook in GRIDLAKE_ALERT_WEBHOOK (warehouse/alerts.py does the work). It launches no
runs: every evaluation ends in a SkipReason that says what it did.

No `from __future__ import annotations` here: Dagster reads the `ResourceParam` annotation."""

import dagster as dg

from warehouse.alerts import record_and_send
from warehouse.lake import Lake

WEBHOOK_ENV = "GRIDLAKE_ALERT_WEBHOOK"
ALERT_INTERVAL_SECONDS = 30


@dg.sensor(
    name="solar_anomaly_alerts",
    description=(
        "Records new gold.solar_anomalies rows in ops.alerts and posts those not yet sent to "
        f"${WEBHOOK_ENV} (one JSON body per site); failed posts are retried on the next tick."
    ),
    minimum_interval_seconds=ALERT_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def solar_anomaly_alerts(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]) -> dg.SkipReason:
    # Read at evaluation time (the lake's settings), so setting the webhook needs no redeploy.
    webhook = lake.settings.alert_webhook
    report = record_and_send(lake, webhook)
    summary = report.summary if webhook else f"{report.summary} ({WEBHOOK_ENV} is not set)"
    if report.failed:
        context.log.warning(f"solar alerts: {summary}")
    return dg.SkipReason(summary)
