namespace PersonaGym.Pipeline;

/// <summary>
/// Who the caller is to the Api (<c>GET /api/me</c>): a key's name and id, or an Entra ID user, and the roles it holds
/// (<c>reader</c>, <c>operator</c>). The web app signs a person in with it.
/// </summary>
public sealed record Caller(string Name, IReadOnlyList<string> Roles, string Scheme, Guid? KeyId = null);
