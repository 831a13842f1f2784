using PersonaGym.Cli;

return await PersonaGymCli.InvokeAsync(args, CliConsole.ForTerminal());
