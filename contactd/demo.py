"""The demo department: four queues, three agents, a supervisor and an admin (CONTRACT.md)."""

from __future__ import annotations

import secrets

import asyncpg

from contactd.auth import Passwords
from contactd.settings import Settings

QUEUES = [
    # name, English name, Welsh name, priority (higher listed first)
    ("general", "General enquiries", "Ymholiadau cyffredinol", 10),
    ("benefits", "Benefits", "Budd-daliadau", 5),
    ("council-tax", "Council Tax", "Treth Gyngor", 5),
    ("welsh", "Welsh language service", "Gwasanaeth Cymraeg", 5),
]
USERS = [
    # username, display name, role, skills (each at level 3)
    ("agent1", "Alex Morgan", "agent", ("general", "benefits", "council-tax")),
    ("agent2", "Bethan Jones", "agent", ("general", "benefits", "welsh")),
    ("agent3", "Chris Patel", "agent", ("general", "council-tax")),
    ("supervisor", "Sam Taylor", "supervisor", ()),
    ("admin", "Robin Hughes", "admin", ()),
]
SEED_LOCK = 0x64656D6F  # "demo"


def demo_password(configured: str | None) -> str:
    """The demo users' password: the configured one, or a new random one for this run."""
    return configured or "demo-" + secrets.token_urlsafe(9)


async def seed(conn: asyncpg.Connection, tenant: str, password: str) -> None:
    """Create (or reset) the demo department; safe to run again and from several nodes at once."""
    password_hash = Passwords().hash(password)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK)
        await conn.execute(
            "INSERT INTO tenants (id, name) VALUES ($1, 'Demo department') ON CONFLICT DO NOTHING", tenant
        )
        for name, en, cy, priority in QUEUES:
            queue_id = await conn.fetchval(
                "INSERT INTO queues (tenant_id, name, display_name, display_name_cy, priority)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, name) DO UPDATE SET display_name = $3"
                " RETURNING id",
                tenant,
                name,
                en,
                cy,
                priority,
            )
            await conn.execute(
                "INSERT INTO mailboxes (tenant_id, address, queue_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                tenant,
                f"{name}@demo.contactd.local",
                queue_id,
            )
            skill_id = await _skill(conn, tenant, name)
            await conn.execute(
                "INSERT INTO queue_skills (queue_id, skill_id, min_level) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING",
                queue_id,
                skill_id,
            )
        for username, display, role, skills in USERS:
            user_id = await conn.fetchval(
                "INSERT INTO users (tenant_id, username, display_name, role, password_hash)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, username)"
                " DO UPDATE SET password_hash = $5, active = true RETURNING id",
                tenant,
                username,
                display,
                role,
                password_hash,
            )
            for skill in skills:
                await conn.execute(
                    "INSERT INTO agent_skills (user_id, skill_id, level) VALUES ($1, $2, 3) ON CONFLICT DO NOTHING",
                    user_id,
                    await _skill(conn, tenant, skill),
                )


async def _skill(conn: asyncpg.Connection, tenant: str, name: str) -> int:
    skill_id: int = await conn.fetchval(
        "INSERT INTO skills (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name)"
        " DO UPDATE SET name = EXCLUDED.name RETURNING id",
        tenant,
        name,
    )
    return skill_id


def banner(settings: Settings, password: str, generated: bool, mail_kept: bool) -> str:
    """What ``contactd demo`` prints: where to go, how to sign in, and where mail goes."""
    public_url = settings.public_url
    how = "generated for this run" if generated else "from CONTACTD_DEMO_PASSWORD"
    users = ", ".join(f"{u} ({r})" for u, _, r, _ in USERS)
    sent = f"kept in {settings.data_dir / 'mail-out'}/ (no relay set)" if mail_kept else "through the relay"
    return "\n".join(
        [
            "contactd demo department",
            f"  Citizen chat:   {public_url}/chat/",
            f"  Agent console:  {public_url}/console/",
            f"  Queue board:    {public_url}/board/",
            f"  Users:          {users}",
            f"  Password:       {password}   ({how})",
            f"  Mail in:        smtp://127.0.0.1:{settings.smtp_port}, to <queue>@demo.contactd.local; queues: "
            + ", ".join(q[0] for q in QUEUES),
            f"  Mail out:       {sent}",
            "Press Ctrl+C to stop.",
        ]
    )
