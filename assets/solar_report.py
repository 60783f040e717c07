"""The solar report as an asset: the HTML file of warehouse/solar_report.py, rewritten after the
solar gold tables change (orchestration/work.py adds it to the solar gold and refine runs)."""

import dagster as dg

from assets.keys import asset_key
from warehouse.lake import Lake
from warehouse.solar_report import write_report


@dg.asset(
    key=dg.AssetKey(["solar_report"]),
    group_name="publish",
    deps=[asset_key("gold.solar_site_daily"), asset_key("gold.solar_anomalies")],
    kinds={"html", "plotly"},
)
def solar_report(lake: dg.ResourceParam[Lake]) -> dg.MaterializeResult:
    """Self-contained HTML solar report (KPIs per site, generation vs consumption, net energy per
    day, anomalies) in the lake's local state folder, under reports/solar.html."""
    path = write_report(lake, lake.state_folder() / "reports" / "solar.html")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "report": dg.MetadataValue.url("file://" + str(path)),
        }
    )
