// A bare Graph call with fetch, as an app would make it.
export async function graph(baseUrl, method, path, token, body) {
  const response = await fetch(`${baseUrl}/v23.0/${path.replace(/^\/+/, "")}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

export function register(baseUrl, number, token, pin) {
  return graph(baseUrl, "POST", `${number}/register`, token, { messaging_product: "whatsapp", pin });
}

export function errorCode(body) {
  return body?.error?.code ?? null;
}
