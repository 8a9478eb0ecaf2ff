from rest_framework import serializers


class DisconnectIn(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, help_text="The id of the user whose connections end.")
