"""Announcements per unit, pushed to the unit's sockets by a `post_save` signal."""
