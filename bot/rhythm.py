"""Config → the daily rhythm: rules for the handlers, times for the jobs, the workday calendar.

Kept out of ``bot/service.py`` so the service only says "install the rhythm" and handlers and the
scheduler never read the config file themselves.
"""

from __future__ import annotations

from bot.config import Config, parse_hhmm
from handlers import must_do, reasons, warnings
from handlers.dispatch import Dispatcher
from handlers.rhythm import Rules
from scheduler.jobs import Times, rhythm_jobs
from scheduler.registry import Registry
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


def workdays_from(cfg: Config) -> Workdays:
    return Workdays(cfg.schedule.extra_holidays, cfg.schedule.extra_workdays)


def install(cfg: Config, registry: Registry, dispatcher: Dispatcher, workdays: Workdays) -> None:
    """Register the rhythm's jobs and the card kinds whose presses it answers."""
    for job in rhythm_jobs(rules_from(cfg), times_from(cfg), workdays):
        registry.add(job)
    dispatcher.register(must_do.KIND, must_do.on_action)
    dispatcher.register(reasons.KIND, reasons.on_action)
    dispatcher.register(warnings.KIND, warnings.on_action)
