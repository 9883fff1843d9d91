"""One real-browser test: two approvers approve a medium-risk action in the admin console
(headless Debian Chromium driven by Playwright)."""

import pytest

from opsactions import services
from opsactions.choices import ActionStatus
from opsactions.models import OpsAction


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_two_approvers_approve_in_the_admin(live_server, browser, ops_admin, approver_b, pay_admin):
    action = services.action_create(
        actor=ops_admin,
        action_type="FREEZE_MERCHANT",
        target="merchant:m_browser",
        params={"reason_code": "chargeback_spike"},
        reason="chargeback spike",
    )
    assert action.risk_level == "medium" and action.required_approvals == 2

    for user, expected in ((approver_b, "pending_approval"), (pay_admin, "approved")):
        context = browser.new_context()
        page = context.new_page()
        # /admin/login/ sends staff to the product's sign-in page, then back.
        page.goto(f"{live_server.url}/admin/login/?next=/admin/opsactions/opsaction/")
        page.wait_for_url("**/login?next=*")
        page.fill("#id_username", user.username)
        page.fill("#id_password", "pw-test-1234")
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/opsactions/opsaction/")
        page.check(f"input[name=_selected_action][value='{action.pk}']")
        page.select_option("select[name=action]", "approve_selected")
        page.click("button[name=index]")
        page.wait_for_selector("#confirm-transition")
        assert "FREEZE_MERCHANT" in page.content()
        page.fill("#id_comment", f"checked by {user.username}")
        page.click("#confirm-transition")
        page.wait_for_selector(".messagelist")
        assert f"-> {expected}" in page.inner_text(".messagelist")
        context.close()

    action = OpsAction.objects.get(pk=action.pk)
    assert action.status == ActionStatus.APPROVED
    assert sorted(a.approver.username for a in action.approvals.all()) == [
        "approver_b",
        "pay_admin",
    ]
