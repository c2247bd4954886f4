"""WeCom (企业微信) self-built app channel: callbacks, template cards, media, groups, OAuth."""

from bot.channels.wecom.channel import WecomChannel, WecomCredentials, credentials_from_env

__all__ = ["WecomChannel", "WecomCredentials", "credentials_from_env"]
