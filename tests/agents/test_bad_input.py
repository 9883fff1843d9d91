"""Bad input to the agent map API is a 4xx in the error shape, never a 500."""

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(ops_admin, client_for):
    return client_for(ops_admin)


@pytest.mark.parametrize("agent_id", ["a%00b", "%00", "a_1%00"])
def test_agent_detail_with_a_nul_in_the_id_is_404(staff, agent_id):
    response = staff.get(f"/api/dashboard/agents/{agent_id}")
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "agent_not_found"


@pytest.mark.parametrize("agent_id", ["x" * 300, "%C3%A9%E2%9C%93%F0%9D%84%9E", "%E2%80%AE"])
def test_agent_detail_with_an_odd_id_is_404(staff, agent_id):
    response = staff.get(f"/api/dashboard/agents/{agent_id}")
    assert response.status_code == 404, response.content
    assert {"detail", "code"} <= response.json().keys()


def test_agent_endpoints_document_their_error_responses():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path, codes in [
        ("/api/dashboard/agents/nearby", {"400", "401", "403"}),
        ("/api/dashboard/agents/clusters", {"400", "401", "403"}),
        ("/api/dashboard/agents/{agent_id}", {"400", "401", "403", "404"}),
    ]:
        assert codes <= paths[path]["get"]["responses"].keys(), path
