"""initial audit schema

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001_initial'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_claims',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('iso_week', sa.String(length=10), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('message_ts', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_claims')),
    sa.UniqueConstraint('channel', 'iso_week', name='uq_digest_claims_channel_week')
    )
    op.create_table('job_claims',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_job_claims'))
    )
    op.create_table('processed_events',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_processed_events'))
    )
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_events_created_at'), ['created_at'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('lane', sa.String(length=64), nullable=False),
    sa.Column('requester', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('review_rule', sa.String(length=16), nullable=False),
    sa.Column('risk', sa.String(length=8), nullable=False),
    sa.Column('route_kind', sa.String(length=16), nullable=True),
    sa.Column('tier', sa.String(length=64), nullable=True),
    sa.Column('provider', sa.String(length=32), nullable=True),
    sa.Column('model', sa.String(length=128), nullable=True),
    sa.Column('route_reasons', sa.JSON(), nullable=False),
    sa.Column('fallback_reason', sa.String(length=255), nullable=True),
    sa.Column('escalation_reason', sa.String(length=255), nullable=True),
    sa.Column('failed_check', sa.String(length=255), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('prompt_id', sa.String(length=128), nullable=True),
    sa.Column('prompt_version', sa.String(length=16), nullable=True),
    sa.Column('policy_version', sa.String(length=16), nullable=True),
    sa.Column('input_text', sa.Text(), nullable=True),
    sa.Column('input_chars', sa.Integer(), nullable=False),
    sa.Column('draft_text', sa.Text(), nullable=True),
    sa.Column('text_redacted', sa.Boolean(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('cost_known', sa.Boolean(), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('slack_channel', sa.String(length=32), nullable=True),
    sa.Column('slack_root_ts', sa.String(length=32), nullable=True),
    sa.Column('slack_draft_ts', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('drafted_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('owner_instance', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_runs_idempotency_key'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_created_at_lane', ['created_at', 'lane'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_runs_lane_created_at', ['lane', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_model'), ['model'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_requester'), ['requester'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_status'), ['status'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('tier', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('model_requested', sa.String(length=128), nullable=False),
    sa.Column('model_answered', sa.String(length=128), nullable=True),
    sa.Column('response_id', sa.String(length=128), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('price_known', sa.Boolean(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('finish_reason', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_attempts_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('run_id', 'seq', name='uq_attempts_run_id_seq')
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_run_id'), ['run_id'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('edited_text', sa.Text(), nullable=True),
    sa.Column('edit_distance', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_decisions_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_run_id'), ['run_id'], unique=False)
        batch_op.create_index('uq_decisions_one_approval_per_actor', ['run_id', 'actor'], unique=True, sqlite_where=sa.text("kind = 'approval'"), postgresql_where=sa.text("kind = 'approval'"))
        batch_op.create_index('uq_decisions_one_final', ['run_id'], unique=True, sqlite_where=sa.text('final'), postgresql_where=sa.text('final'))



def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('uq_decisions_one_final', sqlite_where=sa.text('final'), postgresql_where=sa.text('final'))
        batch_op.drop_index('uq_decisions_one_approval_per_actor', sqlite_where=sa.text("kind = 'approval'"), postgresql_where=sa.text("kind = 'approval'"))
        batch_op.drop_index(batch_op.f('ix_decisions_run_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_actor'))

    op.drop_table('decisions')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempts_run_id'))

    op.drop_table('attempts')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_status'))
        batch_op.drop_index(batch_op.f('ix_runs_requester'))
        batch_op.drop_index(batch_op.f('ix_runs_model'))
        batch_op.drop_index('ix_runs_lane_created_at')
        batch_op.drop_index(batch_op.f('ix_runs_expires_at'))
        batch_op.drop_index('ix_runs_created_at_lane')

    op.drop_table('runs')
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_events_created_at'))

    op.drop_table('processed_events')
    op.drop_table('job_claims')
    op.drop_table('digest_claims')
