// GETs a meshsight API path and returns status and parsed JSON body.
export const getJson = async (baseUrl: string, path: string): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${baseUrl}${path}`)
  const text = await res.text()
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) }
}
