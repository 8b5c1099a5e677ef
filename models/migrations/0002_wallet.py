from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditSchedule',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('operation', fields.CharField(max_length=10)),
                ('amount', fields.BigIntField()),
                ('description', fields.CharField(null=True, max_length=500)),
                ('every', fields.IntField()),
                ('unit', fields.CharField(max_length=5)),
                ('start_date', fields.DateField()),
                ('end_date', fields.DateField(null=True)),
                ('target', fields.CharField(max_length=10)),
                ('customer_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('group_ids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('paused', fields.BooleanField(default=False)),
                ('last_period', fields.IntField(default=-1)),
                ('last_run_on', fields.DateField(null=True)),
                ('next_run_on', fields.DateField(null=True)),
                ('actor', fields.CharField(null=True, max_length=100)),
                ('idempotency_key', fields.CharField(null=True, max_length=200)),
                ('request_hash', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'credit_schedules', 'app': 'models', 'unique_together': (('location_id', 'idempotency_key'),), 'indexes': [Index(fields=['paused', 'next_run_on'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScheduleRun',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('schedule', fields.ForeignKeyField('models.CreditSchedule', source_field='schedule_id', db_constraint=True, to_field='id', related_name='runs', on_delete=OnDelete.CASCADE)),
                ('period', fields.IntField()),
                ('period_on', fields.DateField()),
                ('status', fields.CharField(default='QUEUED', max_length=10)),
                ('total', fields.IntField(default=0)),
                ('processed', fields.IntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('heartbeat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'schedule_runs', 'app': 'models', 'unique_together': (('schedule_id', 'period'),), 'indexes': [Index(fields=['status', 'heartbeat_at'])], 'pk_attr': 'id', 'table_description': 'One period of a schedule: created once by the tick, processed by a job.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WalletEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='wallet_entries', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=20)),
                ('requested_amount', fields.BigIntField()),
                ('delta', fields.BigIntField()),
                ('balance_after', fields.BigIntField()),
                ('description', fields.CharField(null=True, max_length=500)),
                ('source', fields.CharField(max_length=10)),
                ('source_id', fields.UUIDField()),
                ('period', fields.IntField(default=0)),
                ('actor', fields.CharField(null=True, max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'wallet_entries', 'app': 'models', 'unique_together': (('source_id', 'customer_id', 'period', 'kind'),), 'indexes': [Index(fields=['customer_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WalletOperation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('operation', fields.CharField(max_length=10)),
                ('amount', fields.BigIntField()),
                ('description', fields.CharField(null=True, max_length=500)),
                ('source', fields.CharField(max_length=10)),
                ('customer_ids', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('customer_filter', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='QUEUED', max_length=10)),
                ('total', fields.IntField(default=0)),
                ('processed', fields.IntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('actor', fields.CharField(null=True, max_length=100)),
                ('idempotency_key', fields.CharField(null=True, max_length=200)),
                ('request_hash', fields.CharField(null=True, max_length=64)),
                ('attempts', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('heartbeat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'wallet_operations', 'app': 'models', 'unique_together': (('location_id', 'idempotency_key'),), 'indexes': [Index(fields=['status', 'heartbeat_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
