import { type FormEvent, useState } from "react";
import { ApiError, signIn } from "./api";

export function LoginForm() {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      await signIn(String(form.get("username")), String(form.get("password")));
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 401 ? "Wrong username or password." : String(failure));
      setPending(false);
    }
  };

  return (
    <form className="card login" onSubmit={(event) => void submit(event)}>
      <h2>Sign in to Syncline</h2>
      <label>
        Username <input id="username" name="username" autoComplete="username" required />
      </label>
      <label>
        Password <input id="password" name="password" type="password" autoComplete="current-password" required />
      </label>
      <button id="login" type="submit" className="primary" disabled={pending}>
        Sign in
      </button>
      {error !== null && (
        <p id="login-error" className="error" role="alert">
          {error}
        </p>
      )}
      <p className="muted">
        Demo users: alice (approver), bob (requester), sam (store head), nina (unit admin) in North; carol and
        dan in South; admin (staff). Password <code>demo-pass-123</code>.
      </p>
    </form>
  );
}
