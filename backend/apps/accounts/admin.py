from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Membership, Unit, User

admin.site.register(User, UserAdmin)
admin.site.register(Unit)
admin.site.register(Membership)
