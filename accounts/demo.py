"""Demo users, one or more per role; used by `seed_demo` and printed by `make up`."""

from accounts.choices import Role

DEMO_USERS = [
    # username, password, role, scope
    ("ops_admin", "ops-admin-demo-2026", Role.OPS_ADMIN, "platform"),
    ("ops_admin_b", "ops-admin-b-demo-2026", Role.OPS_ADMIN, "platform"),
    ("pay_admin", "pay-admin-demo-2026", Role.PAY_ADMIN, "platform"),
    ("finance_ops", "finance-ops-demo-2026", Role.FINANCE_OPS, "platform"),
    ("bank_sgbs", "bank-sgbs-demo-2026", Role.FINANCE_OPS, "bank:b_sgbs"),
    ("region_sn", "region-sn-demo-2026", Role.OPS_ADMIN, "region:SN"),
    ("merchant_m1042", "merchant-m1042-demo-2026", Role.MERCHANT_ADMIN, "merchant:m_1042"),
    ("agent_a0001", "agent-a0001-demo-2026", Role.AGENT, "agent:a_0001"),
    ("sira", "sira-service-demo-2026", Role.SIRA_SERVICE, "platform"),
]
DEMO_SUPERUSER = ("admin", "admin-demo-2026")
