"""Voucher programmes (budget per year, share cap, window, eligibility, allow-list); vouchers name theirs and
keep what was reclaimed after expiry.

Revision ID: 0720
Revises: 0730
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0720"
down_revision = "0730"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voucher_programmes',
    sa.Column('chain_state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tx_hash', sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('authority_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqltypes.AutoString(length=200), nullable=False),
    sa.Column('annual_budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('max_share_bps', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.BigInteger(), nullable=False),
    sa.Column('ends_at', sa.BigInteger(), nullable=False),
    sa.Column('sectors', sa.JSON(), nullable=False),
    sa.Column('product_ids', sa.JSON(), nullable=False),
    sa.Column('holder_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('programme_id', sqltypes.AutoString(length=36), nullable=True))
        batch_op.add_column(sa.Column('reclaimed_fen', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_vouchers_programme_id'), ['programme_id'], unique=False)
        batch_op.create_foreign_key('fk_vouchers_programme_id', 'voucher_programmes', ['programme_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_vouchers_programme_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_vouchers_programme_id'))
        batch_op.drop_column('reclaimed_fen')
        batch_op.drop_column('programme_id')
    op.drop_table('voucher_programmes')
