export async function designsCommand(argv: string[]): Promise<number> { void argv; return 0; }
