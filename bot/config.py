"""Configuration: one YAML file read into strict pydantic-settings models.

Unknown keys and bad values fail at start-up with the key's dotted path, so a typo never silently
falls back to a default. Secrets are never stored here: credential keys name environment variables.
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

EXAMPLE_PATH = Path(__file__).resolve().parent.parent / "config.example.yaml"
ENV_PREFIX = "ACTIONFLOW__"
INIT_SECTIONS = ("org",)  # what `actionflow init` leaves active; every other key stays a commented default


class ConfigError(Exception):
    """Raised with every offending key path, e.g. ``schedule.morning_must_do: …``."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _secret(env_name: str) -> str | None:
    value = os.environ.get(env_name)
    return value or None


class OrgConfig(Section):
    name: str = "示例销售团队"
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {v!r}") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DatabaseConfig(Section):
    url: str = "sqlite+aiosqlite:///data/actionflow.db"

    @field_validator("url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        if not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg)://", v):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    public_url: str = "http://127.0.0.1:8080"


class LocalChannelConfig(Section):
    enabled: bool = True
    media_dir: str = "data/media"
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024)


class WecomConfig(Section):
    enabled: bool = False
    corp_id_env: str = "WECOM_CORP_ID"
    agent_id_env: str = "WECOM_AGENT_ID"
    secret_env: str = "WECOM_SECRET"
    token_env: str = "WECOM_TOKEN"
    aes_key_env: str = "WECOM_AES_KEY"
    api_base: str = "https://qyapi.weixin.qq.com"
    timestamp_window_s: int = Field(300, ge=1)
    rate_per_member_per_min: int = Field(30, ge=1)
    rate_per_member_per_hour: int = Field(1000, ge=1)
    callback_path: str = Field("/wecom/callback", pattern=r"^/[A-Za-z0-9/_-]*$")
    max_callback_bytes: int = Field(65536, ge=1024, le=1_048_576)
    request_timeout_s: float = Field(10.0, gt=0, le=60)
    duplicate_check_interval_s: int = Field(1800, ge=1, le=14400)
    media_dir: str = "data/media/wecom"
    max_media_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    appchat_id: str = Field("", max_length=64)
    robot_webhook_key_env: str = "WECOM_ROBOT_KEY"
    robot_rate_per_min: int = Field(20, ge=1)
    oauth_redirect_url: str = ""


class FeishuConfig(Section):
    enabled: bool = False
    app_id_env: str = "FEISHU_APP_ID"
    app_secret_env: str = "FEISHU_APP_SECRET"
    verification_token_env: str = "FEISHU_VERIFICATION_TOKEN"
    encrypt_key_env: str = "FEISHU_ENCRYPT_KEY"
    api_base: str = "https://open.feishu.cn"
    callback_path: str = Field("/feishu/events", pattern=r"^/[A-Za-z0-9/_-]*$")
    timestamp_window_s: int = Field(300, ge=1)
    max_callback_bytes: int = Field(65536, ge=1024, le=1_048_576)
    request_timeout_s: float = Field(10.0, gt=0, le=60)
    rate_per_second: int = Field(50, ge=1)
    rate_per_minute: int = Field(1000, ge=1)
    rate_per_user_per_second: int = Field(5, ge=1)
    media_dir: str = "data/media/feishu"
    max_media_bytes: int = Field(100 * 1024 * 1024, ge=1024)
    speech_to_text: bool = False  # Feishu's own ASR (paid editions; 20 QPS per tenant) before asr.base_url


class DingtalkConfig(Section):
    enabled: bool = False
    client_id_env: str = "DINGTALK_CLIENT_ID"
    client_secret_env: str = "DINGTALK_CLIENT_SECRET"
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"  # legacy host: login-free codes of pages opened in DingTalk
    robot_code: str = Field("", max_length=64)  # empty: the AppKey (client id), as for internal-app robots
    card_template_id: str = Field("", max_length=128)  # the card platform template (docs/dingtalk.md)
    stream: bool = True  # hold a Stream connection; false: this process only sends (e.g. a CLI beside `serve`)
    request_timeout_s: float = Field(10.0, gt=0, le=60)
    rate_per_second: int = Field(20, ge=1)  # per OpenAPI, per app (DingTalk standard edition: 20 QPS)
    reconnect_max_s: float = Field(60.0, ge=1, le=600)
    silent_reconnect_s: float = Field(90.0, ge=5, le=600)  # no frame (not even a ping) for this long: reconnect
    http_callback_path: str = Field("", pattern=r"^(/[A-Za-z0-9/_-]*)?$")  # robot HTTP mode; empty: off
    timestamp_window_s: int = Field(3600, ge=1, le=3600)  # HTTP mode: signed timestamps further off are refused
    max_callback_bytes: int = Field(65536, ge=1024, le=1_048_576)
    media_dir: str = "data/media/dingtalk"
    max_media_bytes: int = Field(20 * 1024 * 1024, ge=1024)


class ChannelsConfig(Section):
    local: LocalChannelConfig = LocalChannelConfig()
    wecom: WecomConfig = WecomConfig()
    feishu: FeishuConfig = FeishuConfig()
    dingtalk: DingtalkConfig = DingtalkConfig()


class InboxConfig(Section):
    workers: int = Field(4, ge=1, le=64)
    sweep_every_s: float = Field(15.0, gt=0)
    stranded_after_s: float = Field(30.0, ge=0)
    stuck_after_s: float = Field(120.0, gt=0)


class OutboxConfig(Section):
    max_attempts: int = Field(8, ge=1)
    backoff_base_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(300, gt=0)
    poll_interval_s: float = Field(1.0, gt=0)
    lease_s: float = Field(30.0, gt=0)


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_WEEKLY = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN) ([01]\d|2[0-3]):[0-5]\d$")


def _check_hhmm(v: str) -> str:
    if not _HHMM.match(v):
        raise ValueError(f"expected HH:MM, got {v!r}")
    return v


def parse_hhmm(v: str) -> time:
    hh, mm = v.split(":")
    return time(int(hh), int(mm))


class ScheduleConfig(Section):
    enabled: bool = True  # arm the cron triggers (and catch up missed runs) when the service starts
    morning_must_do: str = "08:45"
    morning_cutoff: str = "11:00"  # a morning card missed while down is still sent until then
    reason_deadline: str = "17:00"
    reason_card: str = "16:00"
    end_of_day_cutoff: str = "22:00"  # items still turn red (late reason cards) until then
    escalation_cutoff: str = "23:00"
    warning_scan_start: str = "09:00"  # red/yellow warnings are checked on workdays between start and end
    warning_scan_end: str = "18:00"
    warning_scan_every_min: int = Field(30, ge=5, le=240)
    daily_digest: str = "18:30"
    weekly_radar: str = "FRI 18:00"
    extra_holidays: tuple[date, ...] = ()  # company days off on top of the statutory calendar
    extra_workdays: tuple[date, ...] = ()  # company make-up days (or years chinese-calendar does not know yet)

    @field_validator("morning_must_do", "morning_cutoff", "reason_deadline", "reason_card", "end_of_day_cutoff",
                     "escalation_cutoff", "warning_scan_start", "warning_scan_end", "daily_digest")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        return _check_hhmm(v)

    @field_validator("weekly_radar")
    @classmethod
    def _weekly(cls, v: str) -> str:
        if not _WEEKLY.match(v):
            raise ValueError(f"expected e.g. 'FRI 18:00', got {v!r}")
        return v

    @model_validator(mode="after")
    def _in_order(self) -> ScheduleConfig:
        """A card that goes out after its own deadline (or a cut-off before its run) can never be answered."""
        pairs = [("reason_card", "reason_deadline"), ("morning_must_do", "morning_cutoff"),
                 ("reason_card", "end_of_day_cutoff"), ("reason_deadline", "escalation_cutoff"),
                 ("warning_scan_start", "warning_scan_end")]
        for early, late in pairs:
            if getattr(self, early) >= getattr(self, late):
                raise ValueError(f"{early} ({getattr(self, early)}) must be before {late} ({getattr(self, late)})")
        return self


class RulesConfig(Section):
    must_do_count: int = Field(3, ge=1, le=10)
    stale_lead_hours: int = Field(72, ge=1)
    first_contact_hours: int = Field(2, ge=1)
    overdue_red_days: int = Field(3, ge=1)
    must_do_proposals: int = Field(6, ge=1, le=12)  # how many ranked proposals the morning card offers
    first_contact_director_hours: int = Field(4, ge=1)  # new lead still untouched → the region director
    first_contact_window_days: int = Field(7, ge=1)  # older never-touched customers are not "new leads"
    closed_stages: tuple[str, ...] = ("签约", "回款")  # customers in these stages are not leads (no stale warning)
    sales_bp: tuple[str, ...] = ()  # names of sales BPs copied on stale-lead red cards

    @model_validator(mode="after")
    def _ladder(self) -> RulesConfig:
        if self.first_contact_director_hours <= self.first_contact_hours:
            raise ValueError("first_contact_director_hours must be above first_contact_hours")
        return self
    checkin_distance_m: int = Field(500, ge=1)
    exif_time_skew_min: int = Field(3, ge=0)
    verify_deadline_hours: int = Field(2, ge=1)


TEMPLATES_PATH = Path(__file__).resolve().parent / "stage_templates.yaml"
DEFAULT_STAGES = ("初步接触", "需求确认", "方案报价", "商务谈判", "签约", "回款")


class CheckConfig(Section):
    """One check of a stage gate; ``evidence`` names what must arrive before it counts as done."""

    key: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    title: str = Field(min_length=1, max_length=40)
    required: bool = True
    evidence: str | None = Field(None, pattern=r"^(photo|voice|file)$")


class TemplateConfig(Section):
    label: str = Field(min_length=1, max_length=20)
    extends: str | None = None
    decision_chain: tuple[str, ...] = ()  # the roles a deal needs reached (CQI touch depth's target)
    checklists: dict[str, tuple[CheckConfig, ...]] = {}


def _builtin_templates() -> dict[str, Any]:
    data = yaml.safe_load(TEMPLATES_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class StagesConfig(Section):
    """Stage definitions and industry template packs (built-ins in bot/stage_templates.yaml)."""

    order: tuple[str, ...] = DEFAULT_STAGES
    default_template: str = "general"
    # the config's packs are added to the built-in ones (a same key replaces the built-in pack)
    templates: dict[str, TemplateConfig] = Field(default_factory=lambda: {
        k: TemplateConfig(**v) for k, v in _builtin_templates().items()})
    verify_scan_every_min: int = Field(15, ge=1, le=60)  # how often overdue 待核实 records are looked for

    @field_validator("templates", mode="before")
    @classmethod
    def _over_builtins(cls, v: Any) -> Any:
        return {**_builtin_templates(), **v} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _consistent(self) -> StagesConfig:
        if len(set(self.order)) != len(self.order) or len(self.order) < 2:
            raise ValueError("order: at least two stages, each once")
        if self.default_template not in self.templates:
            raise ValueError(f"default_template: no template {self.default_template!r}")
        for key, t in self.templates.items():
            seen = {key}
            base = t.extends
            while base is not None:
                if base not in self.templates or base in seen:
                    raise ValueError(f"templates.{key}.extends: unknown or circular template {base!r}")
                seen.add(base)
                base = self.templates[base].extends
            for stage in t.checklists:
                if stage not in self.order:
                    raise ValueError(f"templates.{key}.checklists: {stage!r} is not one of order")
        return self


class LLMConfig(Section):
    enabled: bool = False
    base_url: str = "http://127.0.0.1:11434/v1"
    model: str = "qwen2.5:7b-instruct"
    api_key_env: str = "ACTIONFLOW_LLM_API_KEY"
    timeout_s: float = Field(3.0, gt=0, le=30)

    @property
    def api_key(self) -> str | None:
        return _secret(self.api_key_env)


class UnderstandingConfig(Section):
    confidence_threshold: float = Field(0.6, ge=0, le=1)
    llm: LLMConfig = LLMConfig()


class EvidenceConfig(Section):
    dir: str = "data/evidence"  # photos and files, stored by content (sha256)
    max_bytes: int = Field(20 * 1024 * 1024, ge=1024)


class ASRConfig(Section):
    enabled: bool = False
    base_url: str = "http://127.0.0.1:9000/v1"
    model: str = "whisper-1"
    api_key_env: str = "ACTIONFLOW_ASR_API_KEY"
    timeout_s: float = Field(20.0, gt=0)
    language: str = Field("zh", max_length=8)
    clip_s: int = Field(60, ge=5, le=1800)  # audio is cut into pieces of at most this length per request
    max_audio_s: int = Field(600, ge=10, le=7200)  # longer voice messages are refused (kept as evidence)
    ffmpeg: str = "ffmpeg"


class SecurityConfig(Section):
    admin_token_env: str = "ACTIONFLOW_ADMIN_TOKEN"  # the admin API's bearer token (see bot/admin.py)
    token_secret_env: str = "ACTIONFLOW_TOKEN_SECRET"
    qr_token_ttl_s: int = Field(180 * 86400, ge=60)  # printed store QR codes (bot/links.py)

    @property
    def token_secret(self) -> str | None:
        return _secret(self.token_secret_env)


class LeadSourceConfig(Section):
    """One system that may POST leads; its bearer token lives in the named environment variable."""

    token_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @property
    def token(self) -> str | None:
        return _secret(self.token_env)


class LeadAssignmentConfig(Section):
    """Who gets a new lead: region → reps, else the nearest reps; then tags; then the lowest open load."""

    regions: dict[str, tuple[str, ...]] = {}  # region code (or name) → names of the reps who own it
    nearest_slack_km: float = Field(20.0, ge=0)  # reps this much farther than the nearest still count as near
    max_distance_km: float = Field(300.0, gt=0)  # a lead farther than this from every rep is near nobody
    rep_tags: dict[str, tuple[str, ...]] = {}  # rep name → tags (product line, industry, campus)
    open_stage: str = "初步接触"  # a rep's load = owned customers in this stage


class LeadsConfig(Section):
    max_body_bytes: int = Field(65536, ge=1024, le=1_048_576)  # POST /api/leads bodies above this get 413
    sources: dict[str, LeadSourceConfig] = {}  # source name → its token variable
    assignment: LeadAssignmentConfig = LeadAssignmentConfig()

    @field_validator("sources")
    @classmethod
    def _names(cls, v: dict[str, LeadSourceConfig]) -> dict[str, LeadSourceConfig]:
        for name in v:
            if not re.fullmatch(r"[a-z0-9_-]{1,32}", name) or name in ("chat", "csv"):
                raise ValueError(f"source name {name!r}: 1–32 of a-z 0-9 _ -, and not chat/csv (built in)")
        return v


class ContractStepConfig(Section):
    """One step of the contract approval chain: its name, who approves, how long it may wait."""

    name: str = Field(min_length=1, max_length=20)
    # tried in order, the first active person found approves: a person's name, or ``role:<role>`` (the nearest
    # person of that role above the requester, else the first of that role); never the requester themself
    approvers: tuple[str, ...] = Field(min_length=1)
    wait_hours: float = Field(24.0, gt=0, le=720)  # waiting longer warns the approver and the requester's supervisor

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from storage.models import Role  # the roles people have, whatever roles exist then

        roles = {r.value for r in Role}
        for a in v:
            if not a.strip():
                raise ValueError("an approver is a person's name or role:<role>, not empty")
            if a.startswith("role:") and a[5:] not in roles:
                raise ValueError(f"{a!r}: role must be one of {', '.join(sorted(roles))}")
        return v


def _default_contract_steps() -> tuple[ContractStepConfig, ...]:
    return (ContractStepConfig(name="法务初审", approvers=("role:supervisor",), wait_hours=24),
            ContractStepConfig(name="财务信用评估", approvers=("role:manager",), wait_hours=24),
            ContractStepConfig(name="用印", approvers=("role:manager",), wait_hours=8))


class ContractsConfig(Section):
    """The contract approval chain (发起合同审批): its steps in order."""

    steps: tuple[ContractStepConfig, ...] = Field(default_factory=_default_contract_steps, min_length=1, max_length=10)
    scan_every_min: int = Field(15, ge=1, le=60)  # how often steps past their wait limit are looked for

    @field_validator("steps")
    @classmethod
    def _unique(cls, v: tuple[ContractStepConfig, ...]) -> tuple[ContractStepConfig, ...]:
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError("each step name once")
        return v


class ReportsConfig(Section):
    """Reports (digest, radars, commission): the KPI window, where chart PNGs go, the commission formula."""

    window_days: int = Field(30, ge=1, le=365)  # KPIs, CQI and radars look back this many days
    dir: str = "data/reports"  # rendered radar PNGs (shown inside their cards; WeCom fetches them at /charts/…)
    commission_formula: str = "new_contract * 0.05 + payment * 0.02"
    digest_cutoff: str = "22:00"  # a digest missed while down is still sent until then

    @field_validator("commission_formula")
    @classmethod
    def _formula(cls, v: str) -> str:
        from handlers.reports.commission import Formula

        Formula.parse(v)  # raises naming what is not allowed
        return v

    @field_validator("digest_cutoff")
    @classmethod
    def _cutoff(cls, v: str) -> str:
        return _check_hhmm(v)


class TasksConfig(Section):
    """Cross-role tasks (需要协同): who takes them (the role's people, by skill tags then fewest open tasks), the
    time limit, and who is copied besides the requester."""

    skills: dict[str, tuple[str, ...]] = {}  # person name → skill tags (API对接, 合同条款 …) matched against the need
    due_hours: float = Field(24.0, gt=0, le=720)  # an open task older than this warns, once
    scan_every_min: int = Field(15, ge=1, le=60)  # how often overdue tasks are looked for
    # copied on every task (实施负责人); empty: the delivery person nobody of delivery supervises
    delivery_lead: str = ""


class LoggingConfig(Section):
    level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    json_lines: bool = Field(True, alias="json")


class Config(BaseSettings):
    """The whole file. ``ACTIONFLOW__DATABASE__URL`` style variables override single keys of it."""

    model_config = SettingsConfigDict(
        extra="forbid", frozen=True, env_prefix=ENV_PREFIX, env_nested_delimiter="__"
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the file (passed as init values): an override must win over the file,
        which pydantic-settings' default order (init first) silently prevents."""
        return env_settings, init_settings

    org: OrgConfig = OrgConfig()
    database: DatabaseConfig = DatabaseConfig()
    server: ServerConfig = ServerConfig()
    channels: ChannelsConfig = ChannelsConfig()
    inbox: InboxConfig = InboxConfig()
    outbox: OutboxConfig = OutboxConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    rules: RulesConfig = RulesConfig()
    stages: StagesConfig = StagesConfig()
    understanding: UnderstandingConfig = UnderstandingConfig()
    asr: ASRConfig = ASRConfig()
    evidence: EvidenceConfig = EvidenceConfig()
    security: SecurityConfig = SecurityConfig()
    leads: LeadsConfig = LeadsConfig()
    contracts: ContractsConfig = ContractsConfig()
    tasks: TasksConfig = TasksConfig()
    reports: ReportsConfig = ReportsConfig()
    logging: LoggingConfig = LoggingConfig()


def _env_name(loc: tuple[int | str, ...]) -> str | None:
    """The set environment variable a value came from, if any (names are case-insensitive)."""
    for n in range(len(loc), 0, -1):
        want = (ENV_PREFIX + "__".join(str(p) for p in loc[:n])).upper()
        for name in os.environ:
            if name.upper() == want:
                return name
    return None


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        env = _env_name(tuple(err["loc"]))
        lines.append(f"{path}: {msg}" + (f" (from environment variable {env})" if env else ""))
    return "; ".join(lines)


def _unknown_env_sections() -> list[str]:
    """``ACTIONFLOW__<SECTION>…`` variables naming no section: pydantic-settings would skip them silently."""
    known = {name.upper() for name in Config.model_fields}
    return sorted(name for name in os.environ if name.upper().startswith(ENV_PREFIX)
                  and name.upper()[len(ENV_PREFIX):].split("__")[0] not in known)


def config_from_dict(data: dict[str, Any]) -> Config:
    """The file's values under the ``ACTIONFLOW__…`` environment overrides; ConfigError names the key
    (and the variable, when the bad value came from one)."""
    unknown = _unknown_env_sections()
    if unknown:
        raise ConfigError("; ".join(f"{name}: unknown key (environment variable)" for name in unknown))
    try:
        return Config(**data)
    except ValidationError as exc:
        raise ConfigError(_format(exc)) from None
    except SettingsError as exc:  # a section-wide variable that is not valid JSON
        m = re.search(r'field "(\w+)"', str(exc))
        env = _env_name((m.group(1),)) if m else None
        raise ConfigError(f"{env or ENV_PREFIX + '…'}: not a valid JSON value for a whole section") from None


def load_config(path: str | Path) -> Config:
    """Read ``path``; a missing file is an error (run ``actionflow init``)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such file (run `actionflow init` to write one)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if data is None:  # a truncated or blanked file must not quietly become "all defaults"
        raise ConfigError(f"{p}: the file is empty (run `actionflow init --force` to write a fresh one)")
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping")
    return config_from_dict(data)


def starter_config() -> str:
    """config.example.yaml with every section but ``INIT_SECTIONS`` commented out: the documentation
    stays in the file, but defaults are not frozen into it, so later defaults apply and nothing in the
    file hides what was never chosen."""
    out, active = [], True
    for line in EXAMPLE_PATH.read_text(encoding="utf-8").splitlines():
        top = re.match(r"^([a-z_]+):", line)
        if top:
            active = top.group(1) in INIT_SECTIONS
        out.append(line if active or not line.strip() or line.lstrip().startswith("#") else f"# {line}")
    return "\n".join(out) + "\n"


def write_example(path: str | Path, overwrite: bool = False) -> bool:
    """Write ``starter_config()`` to ``path``; returns False when it already exists."""
    p = Path(path)
    if p.exists() and not overwrite:
        return False
    p.write_text(starter_config(), encoding="utf-8")
    return True
