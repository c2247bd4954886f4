"""The one list of capabilities this process runs, built from the config.

Handlers never read the config file: this module turns the config's sections into each capability's
settings (rules, times, calendar). Adding a capability = its module under ``handlers/`` + one line in
``capabilities()``.
"""

from __future__ import annotations

from bot.config import Config, parse_hhmm
from bot.store_page import StoreLinkBook
from bot.timeline_page import page_link
from handlers import capture, coming, contracts, daily_rhythm, leads, stages, store, tasks, timeline
from handlers.checklist import Check, StageRules, Template
from handlers.context import Settings
from handlers.daily_rhythm import Times
from handlers.reports import capability as reports
from handlers.reports import commission as report_commission
from handlers.rhythm import Rules
from handlers.router import Capability, Router
from scheduler.workdays import Workdays


def rules_from(cfg: Config) -> Rules:
    r, s = cfg.rules, cfg.schedule
    return Rules(
        must_do_count=r.must_do_count, must_do_proposals=max(r.must_do_proposals, r.must_do_count),
        stale_lead_hours=r.stale_lead_hours, first_contact_hours=r.first_contact_hours,
        first_contact_director_hours=r.first_contact_director_hours,
        first_contact_window_days=r.first_contact_window_days, overdue_red_days=r.overdue_red_days,
        reason_deadline=parse_hhmm(s.reason_deadline), closed_stages=tuple(r.closed_stages),
        sales_bp=tuple(r.sales_bp),
    )


def times_from(cfg: Config) -> Times:
    s = cfg.schedule
    return Times(
        morning=parse_hhmm(s.morning_must_do), morning_cutoff=parse_hhmm(s.morning_cutoff),
        reason_card=parse_hhmm(s.reason_card), end_of_day_cutoff=parse_hhmm(s.end_of_day_cutoff),
        reason_deadline=parse_hhmm(s.reason_deadline), escalation_cutoff=parse_hhmm(s.escalation_cutoff),
        scan_start=parse_hhmm(s.warning_scan_start), scan_end=parse_hhmm(s.warning_scan_end),
        scan_every_min=s.warning_scan_every_min,
    )


def lead_rules_from(cfg: Config) -> leads.AssignmentRules:
    a = cfg.leads.assignment
    return leads.AssignmentRules(
        regions={k: tuple(v) for k, v in a.regions.items()}, nearest_slack_km=a.nearest_slack_km,
        max_distance_km=a.max_distance_km, rep_tags={k: tuple(v) for k, v in a.rep_tags.items()},
        open_stage=a.open_stage, first_contact_hours=cfg.rules.first_contact_hours,
    )


def stage_rules_from(cfg: Config) -> StageRules:
    """Templates with their ``extends`` resolved: a base's checks first, a same key replaced in place."""
    st = cfg.stages

    def checklists(key: str) -> dict[str, tuple[Check, ...]]:
        t = st.templates[key]
        out = dict(checklists(t.extends)) if t.extends else {}
        for stage, checks in t.checklists.items():
            merged = {c.key: c for c in out.get(stage, ())}
            merged.update({c.key: Check(c.key, c.title, c.required, c.evidence) for c in checks})
            out[stage] = tuple(merged.values())
        return out

    templates = {k: Template(k, t.label, t.decision_chain, checklists(k)) for k, t in st.templates.items()}
    r = cfg.rules
    return StageRules(order=st.order, default_template=st.default_template, templates=templates,
                      checkin_distance_m=r.checkin_distance_m, exif_skew_min=r.exif_time_skew_min,
                      verify_hours=r.verify_deadline_hours, scan_every_min=st.verify_scan_every_min)


def contract_rules_from(cfg: Config) -> contracts.ContractRules:
    c = cfg.contracts
    return contracts.ContractRules(
        steps=tuple(contracts.StepRule(s.name, tuple(s.approvers), s.wait_hours) for s in c.steps),
        scan_every_min=c.scan_every_min)


def report_rules_from(cfg: Config) -> reports.ReportRules:
    r, st = cfg.reports, cfg.stages
    return reports.ReportRules(
        formula=report_commission.Formula.parse(r.commission_formula), window_days=r.window_days, dir=r.dir,
        order=st.order, closed=tuple(cfg.rules.closed_stages),
        chains={k: t.decision_chain for k, t in st.templates.items()}, default_template=st.default_template,
        digest_at=parse_hhmm(cfg.schedule.daily_digest), digest_cutoff=parse_hhmm(r.digest_cutoff),
        radar_at=cfg.schedule.weekly_radar)


def task_rules_from(cfg: Config) -> tasks.TaskRules:
    t = cfg.tasks
    return tasks.TaskRules(skills={k: tuple(v) for k, v in t.skills.items()}, due_hours=t.due_hours,
                           scan_every_min=t.scan_every_min, delivery_lead=t.delivery_lead)


def workdays_from(cfg: Config) -> Workdays:
    return Workdays(cfg.schedule.extra_holidays, cfg.schedule.extra_workdays)


def settings_from(cfg: Config, platforms: list[str]) -> Settings:
    return Settings(timezone=cfg.org.timezone, confidence_threshold=cfg.understanding.confidence_threshold,
                    platforms=tuple(platforms))


def store_links_from(cfg: Config) -> store.StoreLinks:
    book = StoreLinkBook(cfg)
    return store.StoreLinks(qr=book.current, funnel=book.funnel, task_of=book.task_of)


def capabilities(cfg: Config, workdays: Workdays) -> list[Capability]:
    """Every capability, in the order their commands are tried."""
    return [
        capture.capability,
        daily_rhythm.capability(rules_from(cfg), times_from(cfg), workdays),
        timeline.make_capability(page_link(cfg)),
        leads.capability(lead_rules_from(cfg)),
        stages.capability(stage_rules_from(cfg)),
        contracts.capability(contract_rules_from(cfg)),
        tasks.capability(task_rules_from(cfg)),
        reports.capability(report_rules_from(cfg)),
        store.capability(store_links_from(cfg)),
        coming.capability,
    ]


def router_from(cfg: Config, workdays: Workdays) -> Router:
    return Router(capabilities(cfg, workdays))
