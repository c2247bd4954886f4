"""Two demo leads from a web form (source ``website``), assigned by the rules as any lead would be, so
a newcomer sees a lead card (孙浩, 赵敏) and the supervisor's re-assign card (刘强) in the emulator."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Context
from handlers.leads import AssignmentRules, LeadInput, intake

SOURCE = "website"
LEADS = [
    LeadInput(lead_id="demo-1", company="杭州云帆科技有限公司", contact="王总", phone="13812345678", region="杭州",
              tags=["工业软件"], note="官网留言：想了解产线数据看板"),
    # no region: the nearest rep's home (赵敏, 宁波) decides
    LeadInput(lead_id="demo-2", company="宁波港城冷链物流有限公司", contact="陈经理", phone="13957400000",
              lat=29.9500, lng=121.7000, note="展会扫码：冷库节能改造"),
]


async def seed_demo_leads(session: AsyncSession, make_context: Callable[[str, AsyncSession], Context],
                          rules: AssignmentRules) -> int:
    """Idempotent like every intake: a second run finds the lead ids and adds nothing."""
    new = 0
    for lead in LEADS:
        r = await intake(make_context(f"lead:{SOURCE}:{lead.lead_id}", session), SOURCE, lead, rules)
        new += r.created
    return new
