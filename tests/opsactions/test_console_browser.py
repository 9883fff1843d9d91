"""The ops console in real Chromium: ops_admin requests a merchant freeze through the form
(seeing its risk and quorum before submitting), two other people approve it from the detail
page after signing in through the product login."""

import re

import pytest

from opsactions.choices import ActionStatus
from opsactions.models import OpsAction
from tests.browser import screenshot, serious_axe_violations, sign_in, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _new_page(browser, width=1366, height=900):
    context = browser.new_context(viewport={"width": width, "height": height})
    return context, context.new_page()


def test_request_and_two_approvals_in_the_console(
    live_server, browser, ops_admin, approver_b, pay_admin
):
    base = live_server.url

    # ops_admin: inbox -> New action -> Freeze merchant form.
    context, page = _new_page(browser)
    problems = watch(page)
    sign_in(page, base, ops_admin, next_url="/ops")
    page.wait_for_url(f"{base}/ops")
    assert serious_axe_violations(page) == []
    page.click("#new-action")
    page.click("#type-FREEZE_MERCHANT")
    page.wait_for_selector("#create-form")
    # Before anything is filled, the preview shows the type's base risk as a minimum.
    assert page.get_attribute("#preview-figures", "data-final") == "false"
    page.fill("#id_target", "merchant:m_browser")
    page.select_option("#id_param_reason_code", "chargeback_spike")
    page.fill("#id_reason", "14 chargebacks in two hours")
    # The htmx preview answers with the policy's figures for this type and target.
    page.wait_for_selector("#preview-figures[data-final=true]")
    assert page.get_attribute("#preview-risk", "data-risk") == "medium"
    assert page.get_attribute("#preview-quorum", "data-quorum") == "2"
    assert "Medium" in page.inner_text("#preview-risk")
    assert OpsAction.objects.count() == 0  # the preview created nothing
    assert serious_axe_violations(page) == []
    screenshot(page, "ops_console_form")
    page.click("#submit-action")
    page.wait_for_url(re.compile(r".*/ops/\d+$"))
    action = OpsAction.objects.get()
    assert page.url == f"{base}/ops/{action.pk}"
    assert action.status == ActionStatus.PENDING_APPROVAL and action.required_approvals == 2
    assert page.inner_text("#action-status").strip() == "Pending approval"
    # The requester has no vote.
    assert page.locator("#btn-approve").count() == 0
    screenshot(page, "ops_console_detail_requester")
    assert problems == []
    context.close()

    # approver_b, then pay_admin, approve from the detail page.
    for user, status_text, count in (
        (approver_b, "Pending approval", "1"),
        (pay_admin, "Approved", "2"),
    ):
        context, page = _new_page(browser)
        problems = watch(page)
        sign_in(page, base, user, next_url=f"/ops/{action.pk}")
        page.wait_for_url(f"{base}/ops/{action.pk}")
        assert "merchant:m_browser" in page.inner_text("h1")
        assert serious_axe_violations(page) == []
        page.fill("#vote-text", f"checked by {user.username}")
        page.click("#btn-approve")
        page.wait_for_selector(".msg-success")
        assert page.inner_text("#action-status").strip() == status_text
        assert page.inner_text("#approvals-count") == count
        assert page.locator("#btn-approve").count() == 0  # voted: no second vote
        screenshot(page, f"ops_console_detail_{user.username}")
        assert problems == []
        context.close()

    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    assert sorted(a.approver.username for a in action.approvals.all()) == [
        "approver_b",
        "pay_admin",
    ]


def test_console_on_a_phone(live_server, browser, ops_admin, approver_b):
    from opsactions import services

    services.action_create(
        actor=ops_admin,
        action_type="SET_HOLD",
        target="merchant:m_phone",
        params={"kind": "percent", "percent": "60", "days": 14},
        reason="refund spike",
    )
    context, page = _new_page(browser, 390, 844)
    problems = watch(page)
    sign_in(page, live_server.url, approver_b, next_url="/ops")
    page.wait_for_url(f"{live_server.url}/ops")
    # No sideways scrolling of the page: tables become cards on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "merchant:m_phone" in page.inner_text("#awaiting")
    assert serious_axe_violations(page) == []
    screenshot(page, "ops_console_inbox_phone")
    page.click("#awaiting .action-item")
    page.wait_for_selector("#btn-approve")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert serious_axe_violations(page) == []
    screenshot(page, "ops_console_detail_phone")
    assert problems == []
    context.close()
