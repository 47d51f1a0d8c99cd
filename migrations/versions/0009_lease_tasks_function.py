"""blackboard_lease_tasks(): lease the next task to each of several agents in one call

Claims that arrive together for one board are written as one statement (group commit,
services/group_commit.py): one board seq lock, one commit, one NOTIFY for the group. Each
agent must get the oldest open task that *it* may take (its capabilities, its
abstentions) and that nobody else took, which is a loop over the agents in arrival order:
each pick sees the leases of the picks before it. Every pick skips rows locked by other
transactions (FOR UPDATE SKIP LOCKED) and scans the partial index of open tasks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION blackboard_lease_tasks(board uuid, claimants jsonb)
        RETURNS TABLE (ord int, task tasks)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            claimant record;
            picked uuid;
        BEGIN
            -- claimants: [{"agent_id": uuid, "capabilities": [text], "lease_s": number}]
            FOR claimant IN
                SELECT c.n, c.agent_id, c.lease_s,
                       ARRAY(SELECT jsonb_array_elements_text(c.capabilities)) AS capabilities
                FROM ROWS FROM (jsonb_to_recordset(claimants)
                                AS (agent_id uuid, capabilities jsonb, lease_s float8))
                     WITH ORDINALITY AS c(agent_id, capabilities, lease_s, n)
                ORDER BY c.n
            LOOP
                SELECT t.id INTO picked FROM tasks t
                WHERE t.board_id = board AND t.status = 'open' AND t.available_at <= now()
                  AND t.required_capabilities <@ claimant.capabilities
                  AND NOT EXISTS (SELECT 1 FROM abstentions a
                                  WHERE a.task_id = t.id AND a.agent_id = claimant.agent_id)
                ORDER BY t.created_at
                LIMIT 1
                FOR UPDATE SKIP LOCKED;
                CONTINUE WHEN NOT FOUND;
                UPDATE tasks t
                SET status = 'leased', holder_id = claimant.agent_id, attempt = t.attempt + 1,
                    lease_token = t.lease_token + 1,
                    lease_expires_at = now() + make_interval(secs => claimant.lease_s),
                    updated_at = now()
                WHERE t.id = picked
                RETURNING t.* INTO task;
                INSERT INTO task_attempts (task_id, attempt, agent_id, lease_token)
                VALUES (task.id, task.attempt, task.holder_id, task.lease_token);
                ord := claimant.n;
                RETURN NEXT;
            END LOOP;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION blackboard_lease_tasks(uuid, jsonb)")
