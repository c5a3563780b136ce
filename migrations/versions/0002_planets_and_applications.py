"""planets and mission applications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('planets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('planet_type', sa.String(length=20), nullable=False),
    sa.Column('host_star', sa.String(length=100), nullable=False),
    sa.Column('discovery_year', sa.Integer(), nullable=True),
    sa.Column('discovery_method', sa.String(length=20), nullable=False),
    sa.Column('mass_earth', sa.Float(), nullable=True),
    sa.Column('radius_earth', sa.Float(), nullable=True),
    sa.Column('orbital_period_days', sa.Float(), nullable=True),
    sa.Column('semi_major_axis_au', sa.Float(), nullable=True),
    sa.Column('distance_ly', sa.Float(), nullable=True),
    sa.Column('equilibrium_temp_k', sa.Float(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("discovery_method IN ('transit', 'radial_velocity', 'imaging', 'microlensing', 'timing', 'astrometry', 'observation')", name=op.f('ck_planets_discovery_method_known')),
    sa.CheckConstraint("planet_type IN ('terrestrial', 'super_earth', 'neptune_like', 'gas_giant', 'ice_giant', 'dwarf')", name=op.f('ck_planets_planet_type_known')),
    sa.CheckConstraint('discovery_year BETWEEN 1600 AND 2100', name=op.f('ck_planets_discovery_year_range')),
    sa.CheckConstraint('distance_ly >= 0', name=op.f('ck_planets_distance_not_negative')),
    sa.CheckConstraint('equilibrium_temp_k > 0', name=op.f('ck_planets_temperature_positive')),
    sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_planets_name_not_blank')),
    sa.CheckConstraint('mass_earth > 0', name=op.f('ck_planets_mass_positive')),
    sa.CheckConstraint('orbital_period_days > 0', name=op.f('ck_planets_period_positive')),
    sa.CheckConstraint('radius_earth > 0', name=op.f('ck_planets_radius_positive')),
    sa.CheckConstraint('semi_major_axis_au > 0', name=op.f('ck_planets_semi_major_axis_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planets'))
    )
    with op.batch_alter_table('planets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planets_discovery_method'), ['discovery_method'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_discovery_year'), ['discovery_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_distance_ly'), ['distance_ly'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_equilibrium_temp_k'), ['equilibrium_temp_k'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_mass_earth'), ['mass_earth'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_orbital_period_days'), ['orbital_period_days'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_planet_type'), ['planet_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_radius_earth'), ['radius_earth'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_semi_major_axis_au'), ['semi_major_axis_au'], unique=False)
        batch_op.create_index(batch_op.f('ix_planets_updated_at'), ['updated_at'], unique=False)
    op.create_index('uq_planets_name_lower', 'planets', [sa.text('lower(name)')], unique=True)
    op.create_index('ix_planets_host_star_lower', 'planets', [sa.text('lower(host_star)')])

    op.create_table('mission_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('planet_id', sa.Integer(), nullable=False),
    sa.Column('motivation', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_mission_applications_status_known')),
    sa.CheckConstraint('length(motivation) BETWEEN 1 AND 2000', name=op.f('ck_mission_applications_motivation_length')),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_mission_applications_applicant_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['planet_id'], ['planets.id'], name=op.f('fk_mission_applications_planet_id_planets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_mission_applications_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mission_applications'))
    )
    with op.batch_alter_table('mission_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mission_applications_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mission_applications_planet_id'), ['planet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mission_applications_reviewed_by_id'), ['reviewed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mission_applications_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_mission_applications_submitted_at'), ['submitted_at'], unique=False)
        batch_op.create_index('uq_mission_applications_pending', ['applicant_id', 'planet_id'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))



def downgrade():
    with op.batch_alter_table('mission_applications', schema=None) as batch_op:
        batch_op.drop_index('uq_mission_applications_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_mission_applications_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_mission_applications_status'))
        batch_op.drop_index(batch_op.f('ix_mission_applications_reviewed_by_id'))
        batch_op.drop_index(batch_op.f('ix_mission_applications_planet_id'))
        batch_op.drop_index(batch_op.f('ix_mission_applications_applicant_id'))

    op.drop_table('mission_applications')
    op.drop_index('ix_planets_host_star_lower', table_name='planets')
    op.drop_index('uq_planets_name_lower', table_name='planets')
    with op.batch_alter_table('planets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planets_updated_at'))
        batch_op.drop_index(batch_op.f('ix_planets_semi_major_axis_au'))
        batch_op.drop_index(batch_op.f('ix_planets_radius_earth'))
        batch_op.drop_index(batch_op.f('ix_planets_planet_type'))
        batch_op.drop_index(batch_op.f('ix_planets_orbital_period_days'))
        batch_op.drop_index(batch_op.f('ix_planets_mass_earth'))
        batch_op.drop_index(batch_op.f('ix_planets_equilibrium_temp_k'))
        batch_op.drop_index(batch_op.f('ix_planets_distance_ly'))
        batch_op.drop_index(batch_op.f('ix_planets_discovery_year'))
        batch_op.drop_index(batch_op.f('ix_planets_discovery_method'))

    op.drop_table('planets')
