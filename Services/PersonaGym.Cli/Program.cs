Console.WriteLine("personagym");
