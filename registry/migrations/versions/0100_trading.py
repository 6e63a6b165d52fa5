"""trading: price caps, offers, vouchers, orders, licenses, metered charges, privacy budgets, negotiations

Revision ID: 0100
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql import sqltypes

revision = "0100"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vouchers',
    sa.Column('chain_state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tx_hash', sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('authority_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('holder_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('redeemed_fen', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('sectors', sa.JSON(), nullable=False),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['holder_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vouchers_holder_id'), ['holder_id'], unique=False)

    op.create_table('budget_policies',
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('eps_cap', sa.BigInteger(), nullable=False),
    sa.Column('delta_cap', sa.BigInteger(), nullable=False),
    sa.Column('rho_cap', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('product_id')
    )
    op.create_table('buyer_budgets',
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('buyer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('eps_spent', sa.BigInteger(), nullable=False),
    sa.Column('delta_spent', sa.BigInteger(), nullable=False),
    sa.Column('rho_spent', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('product_id', 'buyer_id')
    )
    op.create_table('offers',
    sa.Column('chain_state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tx_hash', sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('operator_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('basis', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('term_days', sa.Integer(), nullable=True),
    sa.Column('refund_window', sa.Integer(), nullable=False),
    sa.Column('payees', sa.JSON(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('buyer_id', sqltypes.AutoString(length=36), nullable=True),
    sa.Column('negotiation_id', sqltypes.AutoString(length=36), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['operator_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offers_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offers_product_id'), ['product_id'], unique=False)

    op.create_table('price_caps',
    sa.Column('chain_state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tx_hash', sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('cap_fen', sa.BigInteger(), nullable=False),
    sa.Column('authority_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('updated_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('product_id')
    )
    op.create_table('negotiations',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('base_offer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('buyer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('operator_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('turn', sqltypes.AutoString(length=16), nullable=True),
    sa.Column('kind', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('term_days', sa.Integer(), nullable=True),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('deadline', sqltypes.UTCDateTime(), nullable=True),
    sa.Column('agreed_offer_id', sqltypes.AutoString(length=36), nullable=True),
    sa.Column('license_id', sqltypes.AutoString(length=36), nullable=True),
    sa.Column('reason', sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['base_offer_id'], ['offers.id'], ),
    sa.ForeignKeyConstraint(['buyer_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['operator_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('negotiations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_negotiations_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_negotiations_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_negotiations_product_id'), ['product_id'], unique=False)

    op.create_table('orders',
    sa.Column('chain_state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tx_hash', sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('buyer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('offer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('license_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('voucher_id', sqltypes.AutoString(length=36), nullable=True),
    sa.Column('voucher_requested_fen', sa.BigInteger(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('voucher_fen', sa.BigInteger(), nullable=True),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('terms_hash', sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error', sqltypes.AutoString(), nullable=True),
    sa.Column('idempotency_key', sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.Column('paid_at', sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['buyer_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('buyer_id', 'idempotency_key', name='uq_orders_buyer_idem'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('license_id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_state'), ['state'], unique=False)

    op.create_table('licenses',
    sa.Column('chain_state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tx_hash', sqltypes.AutoString(length=66), nullable=True),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('log_index', sa.Integer(), nullable=True),
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('order_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('buyer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('offer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('voucher_fen', sa.BigInteger(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('terms_hash', sqltypes.AutoString(length=64), nullable=False),
    sa.Column('query_kinds', sa.JSON(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('max_queries', sa.BigInteger(), nullable=False),
    sa.Column('queries_used', sa.BigInteger(), nullable=False),
    sa.Column('eps_budget', sa.BigInteger(), nullable=False),
    sa.Column('eps_spent', sa.BigInteger(), nullable=False),
    sa.Column('delta_budget', sa.BigInteger(), nullable=False),
    sa.Column('delta_spent', sa.BigInteger(), nullable=False),
    sa.Column('rho_budget', sa.BigInteger(), nullable=True),
    sa.Column('rho_spent', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sqltypes.UTCDateTime(), nullable=False),
    sa.Column('valid_until', sqltypes.UTCDateTime(), nullable=False),
    sa.Column('release_after', sa.BigInteger(), nullable=False),
    sa.Column('status', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('payouts', sa.JSON(), nullable=False),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.Column('refunded_at', sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['buyer_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licenses_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_licenses_product_id'), ['product_id'], unique=False)

    op.create_table('negotiation_events',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('negotiation_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('actor_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('from_state', sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_state', sqltypes.AutoString(length=16), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['negotiation_id'], ['negotiations.id'], ),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('negotiation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_negotiation_events_negotiation_id'), ['negotiation_id'], unique=False)

    op.create_table('license_charges',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('license_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('buyer_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('product_id', sqltypes.AutoString(length=36), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('eps', sa.BigInteger(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('rho', sa.BigInteger(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('refunded', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['license_id'], ['licenses.id'], ),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('license_charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_license_charges_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_license_charges_license_id'), ['license_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('license_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_license_charges_license_id'))
        batch_op.drop_index(batch_op.f('ix_license_charges_buyer_id'))

    op.drop_table('license_charges')
    with op.batch_alter_table('negotiation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_negotiation_events_negotiation_id'))

    op.drop_table('negotiation_events')
    with op.batch_alter_table('licenses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licenses_product_id'))
        batch_op.drop_index(batch_op.f('ix_licenses_buyer_id'))

    op.drop_table('licenses')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_state'))
        batch_op.drop_index(batch_op.f('ix_orders_product_id'))
        batch_op.drop_index(batch_op.f('ix_orders_buyer_id'))

    op.drop_table('orders')
    with op.batch_alter_table('negotiations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_negotiations_product_id'))
        batch_op.drop_index(batch_op.f('ix_negotiations_operator_id'))
        batch_op.drop_index(batch_op.f('ix_negotiations_buyer_id'))

    op.drop_table('negotiations')
    op.drop_table('price_caps')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offers_product_id'))
        batch_op.drop_index(batch_op.f('ix_offers_buyer_id'))

    op.drop_table('offers')
    op.drop_table('buyer_budgets')
    op.drop_table('budget_policies')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vouchers_holder_id'))

    op.drop_table('vouchers')
