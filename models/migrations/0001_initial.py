from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ids import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import CheckConstraint

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Location',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('currency', fields.CharField(default='PLN', max_length=3)),
                ('timezone', fields.CharField(default='Europe/Warsaw', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'locations', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('role', fields.CharField(max_length=10)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_keys', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name='customers', on_delete=OnDelete.CASCADE)),
                ('first_name', fields.CharField(null=True, max_length=100)),
                ('last_name', fields.CharField(null=True, max_length=100)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('phone', fields.CharField(null=True, max_length=40)),
                ('note', fields.TextField(null=True, unique=False)),
                ('credit_balance', fields.BigIntField(default=0)),
                ('wallet_updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'customers', 'app': 'models', 'constraints': [CheckConstraint(check='credit_balance >= 0', name='customers_credit_balance_gte_0')], 'indexes': [Index(fields=['location_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Card',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name='cards', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='cards', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=64)),
                ('number', fields.CharField(null=True, max_length=64)),
                ('expires_on', fields.DateField(null=True)),
                ('position', fields.SmallIntField(default=0)),
            ],
            options={'table': 'customer_cards', 'app': 'models', 'unique_together': (('location_id', 'code'),), 'indexes': [Index(fields=['customer_id', 'position'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CustomerGroup',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=new_id, unique=True, db_index=True)),
                ('location', fields.ForeignKeyField('models.Location', source_field='location_id', db_constraint=True, to_field='id', related_name='groups', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('reference', fields.CharField(max_length=64)),
                ('description', fields.TextField(null=True, unique=False)),
                ('cashback_basis_points', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_groups', 'app': 'models', 'unique_together': (('location_id', 'reference'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GroupMembership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('group', fields.ForeignKeyField('models.CustomerGroup', source_field='group_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'group_memberships', 'app': 'models', 'unique_together': (('group_id', 'customer_id'),), 'indexes': [Index(fields=['customer_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
